// Copy buttons: <button data-copy="TEXT"> or <button data-copy-from="ID">,
// where ID names a field or element whose text is copied.

async function copyText (text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text)
    return
  }
  // Plain HTTP on a LAN address is no secure context: the old way.
  const ta = document.createElement('textarea')
  ta.value = text
  ta.setAttribute('readonly', '')
  ta.className = 'offscreen'
  document.body.append(ta)
  ta.select()
  const ok = document.execCommand('copy')
  ta.remove()
  if (!ok) throw new Error('copy refused')
}

/** bindCopyButtons makes every copy button under root copy its text and say so. */
export function bindCopyButtons (root: ParentNode): void {
  for (const b of root.querySelectorAll<HTMLButtonElement>('[data-copy], [data-copy-from]')) {
    const label = b.textContent ?? ''
    b.addEventListener('click', async () => {
      let text = b.dataset.copy ?? ''
      if (b.dataset.copyFrom) {
        const src = document.getElementById(b.dataset.copyFrom)
        text = src instanceof HTMLTextAreaElement || src instanceof HTMLInputElement ? src.value : src?.textContent ?? ''
      }
      try {
        await copyText(text)
        b.textContent = 'Copied'
      } catch {
        b.textContent = 'Press Ctrl+C'
        const src = b.dataset.copyFrom ? document.getElementById(b.dataset.copyFrom) : null
        if (src instanceof HTMLTextAreaElement || src instanceof HTMLInputElement) src.select()
      }
      b.classList.add('done')
      setTimeout(() => {
        b.textContent = label
        b.classList.remove('done')
      }, 1600)
    })
  }
}

// The bundle page: its campaign meter kept live (meter.ts), and the pay
// gate's form sent by script.
import { liveMeter } from './meter'

/**
 * payByScript sends the pay gate's form with fetch and goes where the
 * node's checkout answer says: the checkout page is the payment
 * provider's, and this keeps the page's form-action to the node (without
 * scripts the form posts, and the node redirects).
 */
function payByScript (): void {
  const form = document.querySelector<HTMLFormElement>('[data-role="pay-gate"]')
  if (!form) return
  form.addEventListener('submit', e => {
    e.preventDefault()
    const button = form.querySelector('button')
    if (button) button.disabled = true
    fetch(form.action, { method: 'POST', headers: { Accept: 'application/json' } })
      .then(async res => {
        if (!res.ok) throw new Error(await res.text())
        const { url } = await res.json() as { url: string }
        location.assign(url)
      })
      .catch(err => {
        if (button) button.disabled = false
        const p = document.createElement('p')
        p.setAttribute('role', 'alert')
        p.textContent = err instanceof Error ? err.message : String(err)
        form.append(p)
      })
  })
}

const body = document.body
if (body.dataset.bundle) liveMeter(body.dataset.base ?? '', body.dataset.bundle)
payByScript()

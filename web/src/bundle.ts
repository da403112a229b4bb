// The bundle page's campaign meter, kept live: every meterMS the page
// reads the bundle's figures again and moves the meter, so that a backer
// who just paid, here or elsewhere, shows without a reload.

const meterMS = 5000

interface Campaign { backers: number, goal_backers: number, pledged: string }

function update (root: HTMLElement, c: Campaign): void {
  const meter = root.querySelector<HTMLProgressElement>('[data-role="meter"]')
  const backers = root.querySelector('[data-role="backers"]')
  const pledged = root.querySelector('[data-role="pledged"]')
  if (meter) meter.value = c.backers
  if (backers) backers.textContent = String(c.backers)
  if (pledged) pledged.textContent = c.pledged
}

function start (): void {
  const body = document.body
  const id = body.dataset.bundle
  const root = document.querySelector<HTMLElement>('[data-role="campaign"]')
  if (!id || !root) return
  const url = `${body.dataset.base ?? ''}/api/bundles/${id}`
  const tick = (): void => {
    fetch(url, { headers: { Accept: 'application/json' } })
      .then(async res => {
        if (!res.ok) return
        const b = await res.json() as { campaign?: Campaign }
        if (b.campaign) update(root, b.campaign)
      })
      .catch(err => console.debug('seedcast: meter:', err instanceof Error ? err.message : String(err)))
  }
  setInterval(tick, meterMS)
}

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

start()
payByScript()

// A bundle's campaign meter, kept live: every meterMS the page reads the
// bundle's figures again (GET /api/bundles/{id}) and moves the meter, so
// that a backer who just paid, here or elsewhere, shows without a reload.
// The bundle page, the watch page and the embed draw the same markup:
// [data-role="campaign"] holding [data-role="meter"] (a <progress>),
// [data-role="backers"] and [data-role="pledged"].

const meterMS = 5000

interface Campaign { backers: number, goal_backers: number, pledged: string }

function update (root: Element, c: Campaign): void {
  const meter = root.querySelector<HTMLProgressElement>('[data-role="meter"]')
  const backers = root.querySelector('[data-role="backers"]')
  const pledged = root.querySelector('[data-role="pledged"]')
  if (meter) meter.value = c.backers
  if (backers) backers.textContent = String(c.backers)
  if (pledged) pledged.textContent = c.pledged
}

/** liveMeter keeps the campaign meters of the document current, for bundle id of the node at base. */
export function liveMeter (base: string, id: string): void {
  const roots = document.querySelectorAll('[data-role="campaign"]')
  if (roots.length === 0) return
  const url = `${base}/api/bundles/${id}`
  const tick = (): void => {
    fetch(url, { headers: { Accept: 'application/json' } })
      .then(async res => {
        if (!res.ok) return
        const b = await res.json() as { campaign?: Campaign }
        if (b.campaign) for (const r of roots) update(r, b.campaign)
      })
      .catch(err => console.debug('seedcast: meter:', err instanceof Error ? err.message : String(err)))
  }
  setInterval(tick, meterMS)
}

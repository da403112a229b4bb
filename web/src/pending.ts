// Entry of the pending page: a torrent whose info the node has not got
// yet (a magnet). It polls /api/torrents/{infohash} and says, in place,
// how many peers the node found and how long it has waited, counting the
// seconds between polls; after stuckSeconds it shows what to try (the
// hint web/templates/pending.html holds). Once the info has come it
// loads the page again, which is then the player.

/** pollMS is how often the page asks the node. */
const pollMS = 2000

/** stuckSeconds is web/pages.go's stuckAfter. */
const stuckSeconds = 60

interface APITorrent {
  files: unknown[]
  waiting_for_info?: boolean
  info_wait_seconds: number
  peers_found?: number
}

/** waited says how long the node has waited, as web/pages.go's waited. */
export function waited (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

const found = document.querySelector<HTMLElement>('[data-role="found"]')
const waitedEl = document.querySelector<HTMLElement>('[data-role="waited"]')
const stuck = document.querySelector<HTMLElement>('[data-role="stuck"]')

/** The wait the node last told of, and when the page heard it. */
let told = { seconds: 0, at: performance.now() }

/** show writes the time waited now, and the hint once it is due. */
function show (): void {
  const seconds = told.seconds + (performance.now() - told.at) / 1000
  if (waitedEl) {
    const text = waited(seconds)
    if (waitedEl.textContent !== text) waitedEl.textContent = text
  }
  if (stuck && stuck.hidden && seconds >= stuckSeconds) stuck.hidden = false
}

async function poll (): Promise<void> {
  const { base = '', ih = '' } = document.body.dataset
  try {
    const res = await fetch(`${base}/api/torrents/${ih}`, { cache: 'no-store' })
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
    const t = await res.json() as APITorrent
    if (t.waiting_for_info === false || t.files.length > 0) {
      location.reload()
      return
    }
    told = { seconds: t.info_wait_seconds, at: performance.now() }
    // Written only when it changes: it is a live region, read out then.
    const text = `Looking for peers: ${t.peers_found ?? 0} found`
    if (found && found.textContent !== text) found.textContent = text
    show()
    document.body.classList.remove('offline')
  } catch (err) {
    document.body.classList.add('offline')
    console.debug('seedcast: polling the torrent:', err)
  }
  setTimeout(() => { void poll() }, pollMS)
}

// The seconds count on between polls, from what the node last said.
const initial = waitedEl?.textContent ?? ''
told = { seconds: parseWaited(initial), at: performance.now() }
setInterval(show, 1000)
void poll()

/** parseWaited reads back what waited wrote, as the page was served. */
function parseWaited (text: string): number {
  let s = 0
  for (const [, n, unit] of text.matchAll(/(\d+) (h|min|s)\b/g)) {
    s += Number(n) * (unit === 'h' ? 3600 : unit === 'min' ? 60 : 1)
  }
  return s
}

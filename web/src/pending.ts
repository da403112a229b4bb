// Entry of the pending page: a torrent whose info the node has not got
// yet (a magnet). It polls /api/torrents/{infohash}, says for how many
// peers and how long the node has waited, as web/pages.go's waiting does,
// and loads the player once the info has come.

/** pollMS is how often the page asks the node. */
const pollMS = 2000

interface APITorrent {
  files: unknown[]
  info_wait_seconds: number
  transports?: Record<string, { peers: number }>
}

/** waiting says what the node waits on. */
function waiting (peers: number, seconds: number): string {
  const p = peers === 1 ? '1 peer' : `${peers} peers`
  const s = Math.round(seconds)
  const d = s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`
  return `Waiting for the torrent's info from ${p} for ${d}.`
}

async function poll (): Promise<void> {
  const { base = '', ih = '' } = document.body.dataset
  const el = document.querySelector<HTMLElement>('[data-role="waiting"]')
  try {
    const res = await fetch(`${base}/api/torrents/${ih}`, { cache: 'no-store' })
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
    const t = await res.json() as APITorrent
    if (t.files.length > 0) {
      location.reload()
      return
    }
    let peers = 0
    for (const tr of Object.values(t.transports ?? {})) peers += tr.peers ?? 0
    if (el) el.textContent = waiting(peers, t.info_wait_seconds)
    document.body.classList.remove('offline')
  } catch (err) {
    document.body.classList.add('offline')
    console.debug('seedcast: polling the torrent:', err)
  }
  setTimeout(() => { void poll() }, pollMS)
}

void poll()

// The page's delivery report: every reportMS while it plays, and as it
// closes, the page tells the node where its bytes came from and what it
// passed on, so that the node can show what its viewers carried
// (/api/torrents/{infohash}, the library). The node counts what it sends
// itself; only a viewer knows what it got from other viewers.
import type { Delivery } from './p2p'
import { randomViewer } from './want'

/**
 * reportMS is how often a page reports what changed, and presentMS how
 * often it reports at all: a report also says the page is open, and the
 * node counts the pages that reported within a minute as its viewers
 * (--p2p-min-viewers).
 */
const reportMS = 5000
const presentMS = 30000


/**
 * reportDelivery reports delivery() to the node at base for the torrent
 * infohash, now and until the page closes: whenever it has changed, and
 * every presentMS regardless.
 */
export function reportDelivery (base: string, infohash: string, delivery: () => Delivery): void {
  const url = `${base}/api/torrents/${infohash}/delivery`
  // The id of this page's reports, new on every visit.
  const viewer = randomViewer()
  let last = ''
  let lastAt = 0
  const body = (): string | null => {
    const d = delivery()
    const b = JSON.stringify({
      viewer,
      from_viewers: d.fromViewers,
      from_node_webrtc: d.fromServerRTC,
      from_node_http: d.fromServerHTTP,
      uploaded: d.uploaded
    })
    if (b === last && performance.now() - lastAt < presentMS) return null
    last = b
    lastAt = performance.now()
    return b
  }
  const send = (): void => {
    const b = body()
    if (b == null) return
    fetch(url, { method: 'POST', body: b, headers: { 'Content-Type': 'application/json' }, keepalive: true })
      .catch(err => console.debug('seedcast: delivery report:', err instanceof Error ? err.message : String(err)))
  }
  send()
  setInterval(send, reportMS)
  // A page being closed cannot wait for fetch; a beacon is sent anyway.
  addEventListener('pagehide', () => {
    const b = body()
    if (b != null) navigator.sendBeacon(url, new Blob([b], { type: 'application/json' }))
  })
}

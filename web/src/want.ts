// Where this viewer plays, told to the node while the node still fetches
// the film from other peers (a bridge to a native swarm): the node then
// asks its peers first for the pieces this viewer plays next. A page
// says so at once after a seek, and every wantMS while it plays; the node
// forgets a viewer that has not said so for ten seconds. Once the node
// answers that it holds the whole film, the page stops.

/** wantMS is how often a playing page says where it plays. */
const wantMS = 2000

/** jumpSec is how far the playhead must move between two reports to count as a seek, said at once. */
const jumpSec = 4

/** randomViewer returns a random id of 32 hex digits. */
export function randomViewer (): string {
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return [...b].map(x => x.toString(16).padStart(2, '0')).join('')
}

/** Wants tells the node where this viewer plays one torrent. */
export class Wants {
  private readonly url: string
  private readonly viewer = randomViewer()
  private done = false
  private inFlight = false
  private lastAt = -Infinity
  private lastSec = NaN
  private lastPath = ''

  constructor (base: string, infohash: string) {
    this.url = `${base}/api/torrents/${infohash}/want`
  }

  /**
   * track says that the file at path, length bytes long, plays at sec of
   * durationSec (NaN while unknown), unless it said so less than wantMS
   * ago from about there.
   */
  track (path: string, length: number, sec: number, durationSec: number): void {
    if (this.done || this.inFlight || !Number.isFinite(sec)) return
    const now = performance.now()
    const moved = path !== this.lastPath || !(Math.abs(sec - this.lastSec) < jumpSec)
    if (!moved && now - this.lastAt < wantMS) return
    const rate = Number.isFinite(durationSec) && durationSec > 0 ? Math.floor(length / durationSec) : 0
    const offset = Math.max(0, Math.min(length, Math.floor(sec * rate)))
    this.lastAt = now
    this.lastSec = sec
    this.lastPath = path
    this.inFlight = true
    fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ viewer: this.viewer, path, offset, rate })
    }).then(async res => {
      if (!res.ok) {
        // An older node, or a refusal: nothing to gain from asking again.
        if (res.status === 404 || res.status === 400) this.done = true
        return
      }
      const ans = await res.json() as { fetching?: boolean }
      if (ans.fetching === false) this.done = true
    }).catch(err => {
      console.debug('seedcast: want:', err instanceof Error ? err.message : String(err))
    }).finally(() => { this.inFlight = false })
  }
}

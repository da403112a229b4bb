// Ending ICE gathering when it has what a connection needs.
//
// WebTorrent's tracker client signals without trickle: each offer and
// answer leaves once the browser has finished gathering ICE candidates.
// Chromium finishes about 120 ms after it starts, once its later allocation
// phases (TCP among them) are done, while the UDP host candidates a peer on
// the LAN or a node with a public address needs arrive within a few ms. On
// the way to the first frame that wait is a quarter of the time.

/**
 * settleMS is how long gathering goes on after it has every kind of
 * candidate it waits for, so that siblings from other interfaces join.
 */
const settleMS = 15

/**
 * quickGathering makes every RTCPeerConnection created from now on, in
 * this page, report the end of gathering (a null candidate) to its
 * onicecandidate handler as soon as it has a host candidate, and a
 * server-reflexive and a relay one when iceServers has STUN or TURN
 * servers to give them, plus settleMS; or when gathering really ends,
 * whichever is first. Its localDescription carries the candidates gathered
 * so far. It must run before WebTorrent's module is evaluated: WebTorrent
 * takes RTCPeerConnection from the global scope then.
 */
export function quickGathering (iceServers: RTCIceServer[]): void {
  const urls = iceServers.flatMap(s => typeof s.urls === 'string' ? [s.urls] : s.urls)
  const want = new Set(['host'])
  if (urls.some(u => /^(stuns?|turns?):/.test(u))) want.add('srflx')
  if (urls.some(u => /^turns?:/.test(u))) want.add('relay')
  const Base = globalThis.RTCPeerConnection

  class QuickGathering extends Base {
    private handler: ((this: RTCPeerConnection, ev: RTCPeerConnectionIceEvent) => unknown) | null = null
    private ended = false

    constructor (config?: RTCConfiguration) {
      super(config)
      const seen = new Set<string>()
      let timer = 0
      super.addEventListener('icecandidate', (e: RTCPeerConnectionIceEvent) => {
        if (this.ended) return
        if (!e.candidate) {
          clearTimeout(timer)
          this.end(e)
          return
        }
        this.handler?.call(this, e)
        seen.add(e.candidate.type ?? '')
        if ([...want].every(k => seen.has(k))) {
          clearTimeout(timer)
          timer = window.setTimeout(() => this.end(new RTCPeerConnectionIceEvent('icecandidate', { candidate: null })), settleMS)
        }
      })
    }

    private end (e: RTCPeerConnectionIceEvent): void {
      if (this.ended) return
      this.ended = true
      this.handler?.call(this, e)
    }

    // The handler gets the events above instead of the browser's.
    get onicecandidate () { return this.handler }
    set onicecandidate (h) { this.handler = h }
  }
  globalThis.RTCPeerConnection = QuickGathering
}

// The peer-to-peer side of the player: WebTorrent, fed the node's .torrent,
// streaming to the page through its service worker.
import type WebTorrentClient from 'webtorrent'
import type { Torrent, TorrentFile, Wire } from 'webtorrent'
import { pieceCount } from './bencode'
import { Deadline } from './deadline'
import { decrypting, importFileKey, rangeStart, type FileKeyJSON } from './decrypt'
import { quickGathering } from './gather'

/** nodePeerPrefix starts, in hex, the peer id of every seedcast node: "-SC" (BEP 20 style). */
const nodePeerPrefix = '2d5343'

/** controlTimeoutMS bounds the wait for the service worker to control the page after it activates. */
const controlTimeoutMS = 2000

/**
 * mark records a performance mark named "seedcast: what", for DevTools'
 * performance panel and for tests that time the start.
 */
export function mark (what: string): void {
  performance.mark(`seedcast: ${what}`)
}

/** marking returns a function that marks what and passes its argument through, for promise chains. */
function marking<T> (what: string): (v: T) => T {
  return v => {
    mark(what)
    return v
  }
}

/** Delivery tells where this viewer's bytes came from and went, in bytes. */
export interface Delivery {
  /** Received over WebRTC from other viewers. */
  fromViewers: number
  /** Received over WebRTC from a seedcast node. */
  fromServerRTC: number
  /** Received from the node's web seed over HTTP. */
  fromServerHTTP: number
  /** Sent to other peers. */
  uploaded: number
  /** Connections now: all, and those to other viewers. */
  peers: number
  viewers: number
  downloadSpeed: number
  uploadSpeed: number
  /** Share of the torrent verified, 0 to 1. */
  progress: number
}

/** isNode reports whether a hex peer id is a seedcast node's. */
function isNode (peerId: string | null): boolean {
  return peerId != null && peerId.startsWith(nodePeerPrefix)
}

type Source = 'viewers' | 'serverRTC' | 'serverHTTP'

function sourceOf (w: Wire): Source {
  if (w.type === 'webSeed') return 'serverHTTP'
  return isNode(w.peerId) ? 'serverRTC' : 'viewers'
}

/** fromNode reports whether a wire is a seedcast node's: its web seed or its WebRTC peer. */
function fromNode (w: Wire): boolean {
  return sourceOf(w) !== 'viewers'
}

/**
 * sameNode keeps the URLs on this node: the page's own host or the node's
 * public one. Trackers and web seeds elsewhere would learn of the viewer,
 * and the page's Content-Security-Policy would refuse them anyway.
 */
function sameNode (hosts: string[], protocols: string[]) {
  return (u: string): boolean => {
    try {
      const url = new URL(u)
      return hosts.includes(url.host) && protocols.includes(url.protocol)
    } catch {
      return false
    }
  }
}

/**
 * serviceWorker registers WebTorrent's service worker at base/sw.min.js
 * with scope base/, and resolves once it is active and controls this page:
 * the stream URLs reach WebTorrent only through a controlling worker. A
 * page loaded with a hard reload is never controlled, and fails here.
 */
async function serviceWorker (base: string): Promise<ServiceWorkerRegistration> {
  // Browsers give service workers only to secure contexts: pages over
  // HTTPS, or from localhost.
  if (!window.isSecureContext) throw new Error('this page came over plain HTTP, and browsers share video between viewers only on HTTPS pages')
  if (!('serviceWorker' in navigator)) throw new Error('this browser gives the page no service worker (a private window, or turned off in its settings)')
  const reg = await navigator.serviceWorker.register(`${base}/sw.min.js`, { scope: `${base}/` })
  await navigator.serviceWorker.ready
  if (!navigator.serviceWorker.controller) {
    // The worker claims its clients when it activates.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the service worker does not control this page (hard reload?)')), controlTimeoutMS)
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        clearTimeout(timer)
        resolve()
      }, { once: true })
    })
  }
  return reg
}

/**
 * webrtcAvailable reports whether this page may make WebRTC connections:
 * not in a browser built without WebRTC (Debian's WebKitGTK), nor where a
 * policy or an extension blocks it.
 */
export function webrtcAvailable (): boolean {
  try {
    new RTCPeerConnection().close()
    return true
  } catch {
    return false
  }
}

async function fetchTorrent (url: string): Promise<Uint8Array> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`)
  return new Uint8Array(await res.arrayBuffer())
}

/** P2P is one torrent in a WebTorrent client that serves its files to the page. */
export class P2P {
  private readonly got: Record<Source, number> = { viewers: 0, serverRTC: 0, serverHTTP: 0 }
  private failure: Error | null = null
  private filter: ((e: MessageEvent) => void) | null = null
  /** deadline is the policy of what comes from the node; null where the page turned it off. */
  private readonly deadline: Deadline | null

  private constructor (private readonly client: WebTorrentClient, readonly torrent: Torrent, policy: boolean) {
    this.deadline = policy ? new Deadline(torrent, fromNode) : null
    let wired = false
    let got = false
    torrent.on('wire', (w: Wire) => {
      if (!wired) {
        wired = true
        mark(`first wire (${w.type})`)
      }
      w.on('download', (n: number) => {
        if (!got) {
          got = true
          mark(`first bytes (${w.type})`)
        }
        this.got[sourceOf(w)] += n
      })
    })
    torrent.once('verified', (i: number) => mark(`first piece verified (${i})`))
    const fail = (err: Error | string) => {
      this.failure = typeof err === 'string' ? new Error(err) : err
      console.warn('seedcast: WebTorrent:', this.failure.message)
    }
    client.on('error', fail)
    torrent.on('error', fail)
    torrent.on('warning', err => console.debug('seedcast: WebTorrent warning:', typeof err === 'string' ? err : err.message))
  }

  /**
   * start registers the service worker, fetches the .torrent at torrentURL
   * (no metadata round trip) and adds it to a new WebTorrent client, whose
   * trackers and web seeds are cut down to this node's, with the deadline
   * policy unless policy is false. It resolves once the torrent is ready
   * to stream. It needs WebRTC (webrtcAvailable): without it the player
   * streams from the node instead.
   */
  static async start (base: string, torrentURL: string, publicHost: string, iceServers: RTCIceServer[], policy = true): Promise<P2P> {
    quickGathering(iceServers)
    const [reg, buf, { default: WebTorrent }] = await Promise.all([
      serviceWorker(base).then(marking('service worker')),
      fetchTorrent(torrentURL).then(marking('torrent fetched')),
      import('webtorrent').then(marking('webtorrent loaded'))
    ])
    // The node's ICE servers (--ice-server), none by default: WebTorrent's
    // defaults are third parties' STUN servers. The node's host
    // candidates, or its NAT IP, are enough for a browser to reach it;
    // viewers on one LAN reach each other too.
    const client = new WebTorrent({ tracker: { rtcConfig: { iceServers } } })
    // A bitfield of nothing: WebTorrent otherwise reads every piece back
    // from the browser's storage to verify it before the torrent is ready,
    // seconds for a feature film. Whatever an earlier visit stored is
    // fetched again and overwritten.
    const torrent = client.add(buf, { bitfield: new Uint8Array(Math.ceil(pieceCount(buf) / 8)), destroyStoreOnDestroy: true })
    const p = new P2P(client, torrent, policy)
    const hosts = [location.host, publicHost]
    // 'infoHash' comes after the torrent is parsed and before it starts
    // announcing or fetching. Browsers reach trackers only over
    // WebSocket.
    torrent.on('infoHash', () => {
      torrent.announce = torrent.announce.filter(sameNode(hosts, ['ws:', 'wss:']))
      torrent.urlList = torrent.urlList.filter(sameNode(hosts, ['http:', 'https:']))
    })
    try {
      await new Promise<void>((resolve, reject) => {
        if (torrent.ready) return resolve()
        torrent.once('ready', resolve)
        torrent.once('error', err => reject(typeof err === 'string' ? new Error(err) : err))
      })
      mark('torrent ready')
      p.claimOwnRequests(reg)
      client.createServer({ controller: reg })
    } catch (err) {
      p.destroy()
      throw err
    }
    return p
  }

  /**
   * claimOwnRequests keeps WebTorrent from answering the service worker's
   * requests for other tabs' torrents. The worker hands every request to
   * every window of the origin and takes the first answer, and WebTorrent
   * answers 404 for a torrent it lacks, so a second tab watching another
   * film could break this one's stream
   * (https://github.com/webtorrent/webtorrent/issues/2577). Registered
   * before WebTorrent's listener, this one stops the others' requests.
   */
  private claimOwnRequests (reg: ServiceWorkerRegistration): void {
    const own = `${new URL(reg.scope).pathname}webtorrent/${this.torrent.infoHash}/`
    this.filter = (e: MessageEvent) => {
      const url = e.data?.type === 'webtorrent' && typeof e.data.url === 'string' ? new URL(e.data.url) : null
      if (url && !url.pathname.startsWith(own)) e.stopImmediatePropagation()
    }
    navigator.serviceWorker.addEventListener('message', this.filter)
  }

  /**
   * decryptWith has the files of keys (by path) streamed decrypted: their
   * pieces stay ciphertext, as peers pass them on, and what the service
   * worker hands the video is decrypted on the way (decrypt.ts).
   */
  async decryptWith (keys: Record<string, FileKeyJSON>): Promise<void> {
    for (const [path, k] of Object.entries(keys)) {
      const f = this.file(path)
      if (!f) continue
      const key = await importFileKey(k)
      f.on('iterator', ({ iterator, req }, use) => {
        use(decrypting(iterator, key, rangeStart(req.headers.range, f.length)))
      })
    }
  }

  /** url returns the service worker URL that streams the file at path, or null if the torrent has no such file. */
  url (path: string): string | null {
    return this.file(path)?.streamURL ?? null
  }

  /** file returns the torrent's file at the slash-separated path. */
  private file (path: string): TorrentFile | undefined {
    return this.torrent.files.find(f => f.path.replaceAll('\\', '/') === path)
  }

  /**
   * track tells the deadline policy where the file at path plays: sec into
   * it, of durationSec (NaN while unknown); with handover, where an
   * element about to take over from the node's opening stream will start.
   */
  track (path: string, sec: number, durationSec: number, handover = false): void {
    const f = this.file(path)
    if (f) this.deadline?.track(f, sec, durationSec, handover)
  }

  /** received is the count of bytes received from every wire so far. */
  get received (): number {
    return this.torrent.received
  }

  /** failed is the error that broke the client or torrent, if one did. */
  get failed (): Error | null {
    return this.failure
  }

  delivery (): Delivery {
    const t = this.torrent
    let viewers = 0
    for (const w of t.wires) if (sourceOf(w) === 'viewers') viewers++
    return {
      fromViewers: this.got.viewers,
      fromServerRTC: this.got.serverRTC,
      fromServerHTTP: this.got.serverHTTP,
      uploaded: t.uploaded,
      peers: t.wires.length,
      viewers,
      downloadSpeed: t.downloadSpeed,
      uploadSpeed: t.uploadSpeed,
      progress: t.progress
    }
  }

  destroy (): void {
    if (this.filter) navigator.serviceWorker.removeEventListener('message', this.filter)
    this.client.destroy()
  }
}

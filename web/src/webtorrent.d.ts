// The small part of WebTorrent 3's browser API that seedcast's pages use.
// WebTorrent ships no types; the pages import its prebuilt ESM dist, which
// build.mjs copies beside them, as the module 'webtorrent'.
declare module 'webtorrent' {
  /** A connection to one peer, or to one web seed. */
  export interface Wire {
    /** 'webrtc' for WebRTC peers, 'webSeed' for BEP 19 web seeds. */
    type: string
    /** The other end's 20-byte peer id in hex, once it has handshaken. */
    peerId: string | null
    downloaded: number
    uploaded: number
    /** The pieces the other end holds, by its bitfield and haves. */
    peerPieces: { get (index: number): boolean }
    on (event: 'download' | 'upload', listener: (bytes: number) => void): this
    on (event: 'handshake', listener: (infoHash: string, peerId: string) => void): this
    on (event: 'close', listener: () => void): this
  }

  /** A file of a torrent. */
  export interface TorrentFile {
    name: string
    /** Slash-separated, starting with the torrent's name in multi-file torrents. */
    path: string
    length: number
    /** The file's first byte within the torrent. */
    offset: number
    /** The URL under the service worker's scope that streams the file, once the client has a server. */
    readonly streamURL: string
    select (priority?: number): void
    deselect (): void
    /**
     * 'iterator' comes as the client's server starts to serve a range of
     * the file to the service worker; the listener may hand back an async
     * iterable that the response streams instead (a transform).
     */
    on (event: 'iterator', listener: (ev: { iterator: AsyncIterable<Uint8Array>, req: { headers: Record<string, string | undefined> } }, use: (transformed: AsyncIterable<Uint8Array>) => void) => void): this
  }

  export interface Torrent {
    infoHash: string
    name: string
    length: number
    pieceLength: number
    ready: boolean
    files: TorrentFile[]
    wires: Wire[]
    numPeers: number
    /** Tracker URLs, settable until the torrent is listening. */
    announce: string[]
    /** Web seed URLs, settable until the torrent is listening. */
    urlList: string[]
    /** Verified bytes held. */
    downloaded: number
    /** Bytes received from every wire, verified or not. */
    received: number
    uploaded: number
    /** Bytes per second, averaged over a few seconds. */
    readonly downloadSpeed: number
    readonly uploadSpeed: number
    /** Verified share, 0 to 1. */
    readonly progress: number
    on (event: 'infoHash' | 'ready' | 'done', listener: () => void): this
    on (event: 'wire', listener: (wire: Wire, addr?: string) => void): this
    on (event: 'warning' | 'error', listener: (err: Error | string) => void): this
    once (event: 'ready' | 'done', listener: () => void): this
    /** A piece passed its hash check. */
    once (event: 'verified', listener: (index: number) => void): this
    once (event: 'error', listener: (err: Error | string) => void): this
  }

  export interface ClientOptions {
    tracker?: false | { rtcConfig?: RTCConfiguration }
    dht?: boolean
    lsd?: boolean
    utPex?: boolean
    webSeeds?: boolean
  }

  export interface AddOptions {
    /** Pieces held already, one bit each, most significant first; trusted after spot checks instead of verifying every piece. */
    bitfield?: Uint8Array
    /** Delete the stored pieces when the torrent is destroyed. */
    destroyStoreOnDestroy?: boolean
    /** Extra trackers; the torrent's own come first. */
    announce?: string[]
    strategy?: 'sequential' | 'rarest'
    maxWebConns?: number
  }

  export default class WebTorrent {
    constructor (opts?: ClientOptions)
    static WEBRTC_SUPPORT: boolean
    add (torrentId: Uint8Array | string, opts?: AddOptions): Torrent
    /** Serves the torrents' files to the page through the service worker of controller. */
    createServer (opts: { controller: ServiceWorkerRegistration }): unknown
    on (event: 'error' | 'warning', listener: (err: Error | string) => void): this
    destroy (cb?: (err?: Error) => void): void
  }
}

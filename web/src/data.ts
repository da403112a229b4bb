// What the server tells a page about its torrent, in the page's
// <script type="application/json" id="page-data"> block (web/pages.go).

export type Kind = 'video' | 'audio' | 'image' | 'text' | 'caption' | 'other'

export interface FileInfo {
  /** Path as in /api/torrents: starts with the torrent's name in multi-file torrents. */
  path: string
  /** Path shown to people: without the torrent's name. */
  name: string
  length: number
  kind: Kind
  /** The file's /stream URL, relative to the origin. */
  url: string
  /** Indices in PageData.files of the captions that go with this video. */
  captions?: number[]
  /** Language code guessed from a caption's name (film.en.srt), or "". */
  lang?: string
  /** The gate of a file of a bundle ("free", "email", "price"); absent for a torrent that is no bundle. */
  gate?: string
  /** Set while the viewer has not opened the file's gate. */
  locked?: boolean
}

export interface PageData {
  infohash: string
  title: string
  /** The node's base path, "" at the root of its host. */
  base: string
  /** Host of the node's public URL, for keeping trackers and web seeds on the node. */
  publicHost: string
  torrentURL: string
  watchURL: string
  files: FileInfo[]
  /** Index of the file to play first. */
  main: number
  /** Index of a file to open in the list, -1 for none. */
  focus: number
  /** Index of the bundle's poster image, or -1. */
  poster: number
  embed: boolean
  autoplay: boolean
  /** False with ?p2p=0, or while too few watch: stream from the node alone, without WebTorrent. */
  p2p: boolean
  /** Why p2p is false, for the viewer. */
  p2pOff?: string
  /** False with ?head=0: play through WebTorrent from the first frame, without the node's opening stream (for comparisons). */
  head: boolean
  /** False with ?deadline=0: take from the node whatever WebTorrent asks, as before the deadline policy (for comparisons). */
  deadline: boolean
  /** The node's STUN and TURN servers, for the page's peer connections. */
  iceServers: RTCIceServer[]
  /** The id of the torrent's bundle, absent for none. */
  bundle?: string
}

export function pageData (): PageData {
  const el = document.getElementById('page-data')
  if (!el?.textContent) throw new Error('seedcast: the page has no data')
  return JSON.parse(el.textContent) as PageData
}

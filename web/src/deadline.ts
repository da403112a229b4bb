// The deadline policy: which of this viewer's pieces the node sends, and
// which come from other viewers. A seedcast node (its web seed and its
// WebRTC peer alike) is asked only for the pieces the playhead needs within
// deadlineSec, and for pieces within rareAheadSec that no other viewer
// connected here holds; every other piece waits for a viewer. Bytes from the node still become this
// viewer's pieces, so it passes them on like any other.
//
// p2p-media-loader draws the same line with its "high demand" window
// (HTTP for the segments the playhead needs soon, peers for the rest);
// WebTorrent itself takes every piece from the fastest source, and a web
// seed outruns data channels, so without this every viewer would take the
// whole film from the node (webtorrent#1949).
import type { Torrent, TorrentFile, Wire } from 'webtorrent'

/**
 * deadlineSec is how far past the playhead the node serves what this
 * viewer lacks. Four seconds cover a piece of 1 MiB at 2 Mbit/s twice over,
 * and a viewer's rebuffering guard (the media element waits for about 2 s
 * of data before it plays again).
 */
export const deadlineSec = 4

/**
 * headBytes is the window before the duration is known: the start of the
 * file, where a faststart MP4 keeps its index and first frames.
 */
const headBytes = 512 << 10

/**
 * rareAheadSec is how far past the playhead the node is asked for pieces
 * no other viewer holds: far enough that a lone viewer never waits, near
 * enough that a viewer does not draw the whole film from a node whose
 * upload others need for their deadlines (--upload-rate).
 */
const rareAheadSec = 60

/**
 * handoverSec and handoverHeadBytes are the window while the page still
 * plays the node's opening stream: the element about to take over needs
 * the file's index (at its start) and a little of the film where it
 * will start, not the deadline's seconds, which the opening stream
 * covers.
 */
const handoverSec = 1.5
const handoverHeadBytes = 128 << 10

/**
 * graceMS is how long after the torrent starts the node serves only the
 * window: the node's web seed and WebRTC peer connect within tens of
 * milliseconds, other viewers through the tracker's offers later, and
 * until they do every piece would look as if no viewer held it.
 */
const graceMS = 2000

/**
 * Internals is the part of WebTorrent 3.0.21's Torrent the policy hooks:
 * _request(wire, index, hotswap) reserves blocks of a piece on a wire and
 * returns whether it did, and _update makes every wire request again.
 * web/package.json pins the version; the e2e tests fail if they change.
 */
interface Internals {
  _request: (wire: Wire, index: number, hotswap: boolean) => boolean
  _update: () => void
}

/** Window is a range of pieces, both ends included; from > to is empty. */
export interface Window { from: number, to: number }

/**
 * windowOf returns the pieces that hold the next spanSec of file from the
 * playhead at sec, one piece of margin either side for a bitrate that
 * varies; with no duration yet, the file's first headSpan bytes.
 */
export function windowOf (file: { offset: number, length: number }, pieceLength: number, sec: number, durationSec: number,
  spanSec = deadlineSec, headSpan = headBytes): Window {
  if (file.length <= 0) return { from: 0, to: -1 }
  let start = 0
  let span = headSpan
  if (Number.isFinite(durationSec) && durationSec > 0) {
    const bytesPerSec = file.length / durationSec
    start = Math.max(0, Math.min(file.length - 1, Math.floor(sec * bytesPerSec)))
    span = Math.ceil(spanSec * bytesPerSec)
  }
  const first = Math.floor(file.offset / pieceLength)
  const last = Math.floor((file.offset + file.length - 1) / pieceLength)
  const from = Math.max(first, Math.floor((file.offset + start) / pieceLength) - 1)
  const to = Math.min(last, Math.floor((file.offset + Math.min(file.length - 1, start + span)) / pieceLength) + 1)
  return { from, to }
}

function same (a: Window, b: Window): boolean {
  return a.from === b.from && a.to === b.to
}

/** Deadline applies the policy to one torrent. */
export class Deadline {
  private window: Window = { from: 0, to: -1 }
  /** head is the start of the file, while an element about to play needs its index. */
  private head: Window = { from: 0, to: -1 }
  /** ahead is where pieces no viewer holds may come from the node. */
  private ahead: Window = { from: 0, to: -1 }
  private readonly internals: Internals
  private readonly since = performance.now()
  /** rare is set once the node may be asked for pieces no viewer holds. */
  private rare = false

  /**
   * constructor hooks torrent, whose wires isNode tells apart: the node's
   * (its web seed, its WebRTC peer) from other viewers'.
   */
  constructor (private readonly torrent: Torrent, private readonly isNode: (w: Wire) => boolean) {
    this.internals = torrent as unknown as Internals
    const request = this.internals._request.bind(torrent)
    this.internals._request = (wire, index, hotswap) =>
      this.isNode(wire) && !this.fromNode(index) ? false : request(wire, index, hotswap)
  }

  /** fromNode reports whether the node may be asked for piece index. */
  fromNode (index: number): boolean {
    const w = this.window
    const h = this.head
    const a = this.ahead
    return (index >= w.from && index <= w.to) || (index >= h.from && index <= h.to) ||
      (this.rare && index >= a.from && index <= a.to && !this.viewerHas(index))
  }

  /** viewerHas reports whether another viewer connected here holds piece index. */
  private viewerHas (index: number): boolean {
    for (const w of this.torrent.wires) {
      if (!this.isNode(w) && w.peerPieces.get(index)) return true
    }
    return false
  }

  /**
   * track moves the window to the playhead of file at sec, durationSec
   * long (NaN while unknown), and has the wires ask again when it moved.
   * With handover, the page still plays the node's opening stream and an
   * element about to take over will start at sec: the window is the
   * file's index and handoverSec from sec.
   */
  track (file: TorrentFile, sec: number, durationSec: number, handover = false): void {
    const pl = this.torrent.pieceLength
    const w = handover ? windowOf(file, pl, sec, durationSec, handoverSec) : windowOf(file, pl, sec, durationSec)
    const h = handover ? windowOf(file, pl, 0, NaN, 0, handoverHeadBytes) : { from: 0, to: -1 }
    const a = windowOf(file, pl, sec, durationSec, rareAheadSec)
    const rare = performance.now() - this.since > graceMS
    if (same(w, this.window) && same(h, this.head) && same(a, this.ahead) && rare === this.rare) return
    this.window = w
    this.head = h
    this.ahead = a
    this.rare = rare
    this.internals._update()
  }

  /** current is the window the node serves now. */
  get current (): Window {
    return this.window
  }
}

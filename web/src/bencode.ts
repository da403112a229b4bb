// Just enough bencode (BEP 3) to count a .torrent's pieces before WebTorrent
// parses it.

const d = 0x64 // 'd'
const l = 0x6c // 'l'
const i = 0x69 // 'i'
const e = 0x65 // 'e'
const colon = 0x3a

/** skip returns the offset just past the bencoded value at off. */
function skip (b: Uint8Array, off: number): number {
  const c = b[off]
  if (c === i) {
    const end = b.indexOf(e, off)
    if (end < 0) throw new Error('bencode: unterminated integer')
    return end + 1
  }
  if (c === l || c === d) {
    off++
    while (b[off] !== e) {
      if (off >= b.length) throw new Error('bencode: unterminated list or dictionary')
      off = skip(b, off)
    }
    return off + 1
  }
  const [start, len] = str(b, off)
  return start + len
}

/** str parses the byte string at off into its offset and length. */
function str (b: Uint8Array, off: number): [number, number] {
  const sep = b.indexOf(colon, off)
  if (sep < 0 || sep - off > 12) throw new Error('bencode: bad string length')
  const len = Number(new TextDecoder().decode(b.subarray(off, sep)))
  if (!Number.isSafeInteger(len) || len < 0 || sep + 1 + len > b.length) throw new Error('bencode: bad string length')
  return [sep + 1, len]
}

/** lookup returns the offset of the value of key in the dictionary at off, or -1. */
function lookup (b: Uint8Array, off: number, key: string): number {
  if (b[off] !== d) throw new Error('bencode: not a dictionary')
  off++
  while (b[off] !== e) {
    if (off >= b.length) throw new Error('bencode: unterminated dictionary')
    const [start, len] = str(b, off)
    const k = new TextDecoder().decode(b.subarray(start, start + len))
    off = start + len
    if (k === key) return off
    off = skip(b, off)
  }
  return -1
}

/** pieceCount returns the number of pieces of a .torrent: its info's pieces are 20-byte SHA-1 hashes. */
export function pieceCount (torrent: Uint8Array): number {
  const info = lookup(torrent, 0, 'info')
  if (info < 0) throw new Error('bencode: the torrent has no info')
  const pieces = lookup(torrent, info, 'pieces')
  if (pieces < 0) throw new Error('bencode: the torrent has no pieces')
  const [, len] = str(torrent, pieces)
  return len / 20
}

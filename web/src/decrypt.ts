// Gated files of a bundle travel encrypted: peers, the web seed and
// native clients carry ciphertext, and a viewer who unlocked the file
// decrypts what it plays. A file key is AES-256 in CTR mode whose 128-bit
// counter starts at the IV and counts 16-byte blocks, big-endian: byte n
// of the file is byte n % 16 of AES(key, IV + n / 16) XOR the ciphertext,
// so any range decrypts alone and seeking costs nothing (store/types.go,
// bundle/crypt.go).

/** FileKey is one file's key and IV, as GET /api/bundles/{id}/keys gives them (base64). */
export interface FileKeyJSON { key: string, iv: string }

/** FileKey is a file key ready for WebCrypto. */
export interface FileKey { key: CryptoKey, iv: Uint8Array<ArrayBuffer> }

function fromBase64 (s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/** importFileKey makes a FileKey of its JSON form. */
export async function importFileKey (k: FileKeyJSON): Promise<FileKey> {
  const raw = fromBase64(k.key)
  const iv = fromBase64(k.iv)
  if (raw.length !== 32 || iv.length !== 16) throw new Error('seedcast: a file key must be 32 bytes and its IV 16')
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-CTR' }, false, ['decrypt'])
  return { key, iv }
}

/** counterAt returns the counter block of block index n: IV + n, modulo 2^128, big-endian. */
export function counterAt (iv: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(iv)
  let carry = n
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const sum = out[i] + (carry % 256)
    out[i] = sum % 256
    carry = Math.floor(carry / 256) + Math.floor(sum / 256)
  }
  return out
}

/** decryptAt decrypts bytes that start at offset off of the file. */
export async function decryptAt (k: FileKey, bytes: Uint8Array, off: number): Promise<Uint8Array> {
  if (bytes.length === 0) return bytes
  // WebCrypto starts a decryption at a block's first byte: the bytes
  // before off in its block are padding, cut from the answer.
  const skip = off % 16
  const buf = new Uint8Array(skip + bytes.length)
  buf.set(bytes, skip)
  const counter = counterAt(k.iv, Math.floor(off / 16))
  const out = await crypto.subtle.decrypt({ name: 'AES-CTR', counter, length: 128 }, k.key, buf)
  return new Uint8Array(out, skip)
}

/** decrypting yields the chunks of src, which start at offset start of the file, decrypted. */
export async function * decrypting (src: AsyncIterable<Uint8Array>, k: FileKey, start: number): AsyncGenerator<Uint8Array> {
  let off = start
  for await (const chunk of src) {
    yield await decryptAt(k, chunk, off)
    off += chunk.length
  }
}

/** rangeStart reads where a Range header's first range starts, 0 for none. */
export function rangeStart (range: string | undefined, length: number): number {
  const m = /^bytes=(\d*)-(\d*)/.exec(range ?? '')
  if (!m) return 0
  if (m[1] === '') return Math.max(0, length - Number(m[2]))
  return Number(m[1])
}

// bench.js is the browser side of make bench (bench/bench_test.go). The
// harness calls its exports through window.e2e, a promise of this module,
// and reads every figure from what they return: times come from
// performance.now() in this page, bytes from what this page received.
import WebTorrent from '/webtorrent/webtorrent.min.js'

// SAMPLE_MS is how often progress is sampled; the harness derives the
// longest gap without progress from the samples, at this resolution.
const SAMPLE_MS = 250

// Progress records how many bytes have arrived so far. Samples are
// [ms since start, bytes] pairs, taken every SAMPLE_MS from start until
// stop, plus one at the first byte and one at the end. If no byte arrives
// for giveUpMs, it calls onStuck with an error and stops.
class Progress {
  constructor (giveUpMs, onStuck) {
    this.start = performance.now()
    this.bytes = 0
    this.firstByteMs = null
    this.samples = [[0, 0]]
    this.lastMoveMs = 0
    this.timer = setInterval(() => {
      this.sample()
      const [ms, bytes] = this.samples[this.samples.length - 1]
      if (bytes > this.samples[this.samples.length - 2][1]) this.lastMoveMs = ms
      if (ms - this.lastMoveMs >= giveUpMs) {
        this.stop()
        onStuck(new Error(`no progress for ${(giveUpMs / 1e3).toFixed(0)} s: ${(bytes / 1e6).toFixed(1)} MB arrived`))
      }
    }, SAMPLE_MS)
  }

  add (n) {
    if (this.firstByteMs === null) {
      this.firstByteMs = performance.now() - this.start
      this.samples.push([this.firstByteMs, 0])
    }
    this.bytes += n
  }

  sample () { this.samples.push([performance.now() - this.start, this.bytes]) }

  stop () {
    if (this.timer === null) return
    clearInterval(this.timer)
    this.timer = null
    this.sample()
  }

  report () {
    return {
      ms: performance.now() - this.start,
      firstByteMs: this.firstByteMs,
      bytes: this.bytes,
      samples: this.samples
    }
  }
}

// current is the progress of the transfer under way, for progress().
let current = null

// progress reports the transfer under way, so that the harness can say how
// far a run got when it times out.
export function progress () {
  return current ? current.report() : null
}

// ---- (a) raw data channel ----

// rawAnswer answers a pion offer without ICE servers, so that this page's
// host candidates go out as Chromium's default <uuid>.local mDNS names, and
// counts the bytes of every message on the channel the offer brings. It
// returns the answer with every candidate gathered: the Go side does not
// trickle either. rawDone resolves once wantBytes have arrived, or with
// error set once no byte has arrived for giveUpMs or the channel closes.
let rawDonePromise = null

export async function rawAnswer (offerSDP, wantBytes, giveUpMs) {
  const pc = new RTCPeerConnection({ iceServers: [] })
  window.benchPC = pc // keep it alive
  let resolveDone, rejectDone
  rawDonePromise = new Promise((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  const offeredAt = performance.now()
  const noChannel = setTimeout(() => rejectDone(new Error(`no data channel within ${(giveUpMs / 1e3).toFixed(0)} s of the offer`)), giveUpMs)
  pc.ondatachannel = ({ channel }) => {
    clearTimeout(noChannel)
    channel.binaryType = 'arraybuffer'
    // The answerer learns of the channel when it is already open.
    const p = new Progress(giveUpMs, rejectDone)
    current = p
    const openMs = p.start - offeredAt
    channel.onmessage = ({ data }) => {
      p.add(data.byteLength)
      if (p.bytes >= wantBytes) {
        p.stop()
        channel.onmessage = null
        resolveDone({ ...p.report(), openMs })
      }
    }
    channel.onclose = () => rejectDone(new Error(`channel closed after ${p.bytes} of ${wantBytes} bytes`))
  }
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSDP })
  await pc.setLocalDescription(await pc.createAnswer())
  await new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') return resolve()
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve()
    })
  })
  console.log(`raw: answer gathered ${(performance.now() - offeredAt).toFixed(0)} ms after the offer`)
  pc.addEventListener('connectionstatechange', () => console.log(`raw: ${pc.connectionState} ${(performance.now() - offeredAt).toFixed(0)} ms after the offer`))
  return pc.localDescription.sdp
}

export function rawDone () {
  if (!rawDonePromise) throw new Error('rawAnswer was not called')
  return rawDonePromise.catch(err => ({ ...(current ? current.report() : {}), error: err.message }))
}

// ---- (b), (c), (d) WebTorrent ----

// newClient returns a WebTorrent client with its defaults but for ICE
// servers: WebTorrent's default STUN servers are unreachable from the test
// network and must not be contacted.
function newClient () {
  const client = new WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
  client.on('error', err => console.error('webtorrent client error:', err.message))
  return client
}

function watch (torrent, label) {
  torrent.on('warning', err => console.warn(`${label} warning:`, err.message))
  torrent.on('error', err => console.error(`${label} error:`, err.message))
  torrent.on('wire', (wire, addr) => {
    console.log(`${label}: wire ${wire.type} ${addr || wire.remoteAddress || ''}`)
    // The steps from a wire to its first block, for -console.
    wire.once('handshake', () => console.log(`${label}: handshake`))
    wire.once('bitfield', () => console.log(`${label}: bitfield`))
    wire.once('unchoke', () => console.log(`${label}: unchoke`))
    wire.once('download', () => console.log(`${label}: first block`))
  })
}

// until resolves when torrent has emitted every event in names, and
// rejects on its first error.
function until (torrent, ...names) {
  return new Promise((resolve, reject) => {
    const left = new Set(names)
    for (const name of names) {
      torrent.once(name, () => {
        left.delete(name)
        if (left.size === 0) resolve()
      })
    }
    torrent.once('error', reject)
  })
}

// seed fetches dataURL from this page's origin and seeds it as one file,
// announcing to announceURL only. It resolves once the tracker has answered
// the first announce, so that a peer announcing later reaches this page.
export async function seed (dataURL, announceURL, name) {
  const res = await fetch(dataURL)
  if (!res.ok) throw new Error(`GET ${dataURL}: ${res.status}`)
  const file = new File([await res.blob()], name)
  const client = newClient()
  const torrent = client.seed(file, { announce: [announceURL] })
  watch(torrent, 'seed')
  await until(torrent, 'seed', 'trackerAnnounce')
  window.benchSeed = torrent // keep it alive
  return { magnetURI: torrent.magnetURI, infoHash: torrent.infoHash, length: torrent.length }
}

// download adds a torrent, given as the URL of a .torrent file or as a
// magnet link with announce as its trackers, and waits until every piece
// is verified. The clock starts when the torrent is added (after the
// .torrent file is fetched) and stops at 'done'; the SHA-256 of the file
// is computed afterwards, off the clock. If the transfer fails or makes
// no progress for giveUpMs, it resolves to how far it got, with error
// set.
export async function download ({ torrentURL, magnetURI, announce, giveUpMs }) {
  let id = magnetURI
  if (torrentURL) {
    const res = await fetch(torrentURL)
    if (!res.ok) throw new Error(`GET ${torrentURL}: ${res.status}`)
    id = new Uint8Array(await res.arrayBuffer())
  }
  const client = newClient()
  let stuck
  const stuckPromise = new Promise((resolve, reject) => { stuck = reject })
  const p = new Progress(giveUpMs, stuck)
  current = p
  const torrent = client.add(id, announce ? { announce } : {})
  watch(torrent, 'download')
  const bytesByWireType = {}
  let wires = 0
  torrent.on('wire', wire => {
    wires++
    wire.on('download', n => { bytesByWireType[wire.type] = (bytesByWireType[wire.type] || 0) + n })
  })
  torrent.on('download', n => p.add(n))
  try {
    await Promise.race([until(torrent, 'done'), stuckPromise])
  } catch (err) {
    p.stop()
    return { ...p.report(), error: err.message, wires, bytesByWireType }
  }
  p.stop()
  const report = p.report()

  const buf = await torrent.files[0].arrayBuffer()
  const digest = await crypto.subtle.digest('SHA-256', buf)
  return {
    ...report,
    sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join(''),
    byteLength: buf.byteLength,
    length: torrent.length,
    wires,
    bytesByWireType
  }
}

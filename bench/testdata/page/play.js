// play.js is the reference player of make bench's playback and offload
// tables (bench/playback_test.go, bench/offload_test.go): the page a WebTorrent user writes from its
// documentation, with nothing of seedcast's player in it. It registers
// WebTorrent's service worker, fetches the .torrent named by ?torrent=,
// adds it and streams its first video file to the <video>, muted so that
// it may autoplay. The harness times it from outside, as it times the
// watch page.
import WebTorrent from '/webtorrent/webtorrent.min.js'

const video = document.querySelector('video')
const torrentURL = new URLSearchParams(location.search).get('torrent')

// bytesByWireType counts what arrived over each kind of wire, for the
// harness's check that the bytes came from a peer; bytesBySource counts
// the same bytes by who sent them, for the offload table: a seedcast
// node's WebRTC peer, its web seed, or another viewer.
const bytesByWireType = {}
const bytesBySource = { node: 0, webSeed: 0, viewers: 0 }
window.benchPlay = { bytesByWireType, bytesBySource, error: '' }

// nodePeerPrefix starts, in hex, the peer id of every seedcast node ("-SC",
// as the watch page tells them apart in web/src/p2p.ts).
const nodePeerPrefix = '2d5343'

function sourceOf (wire) {
  if (wire.type === 'webSeed') return 'webSeed'
  return (wire.peerId || '').startsWith(nodePeerPrefix) ? 'node' : 'viewers'
}

function fail (err) {
  window.benchPlay.error = err.message || String(err)
  console.error('play:', window.benchPlay.error)
}

async function serviceWorker () {
  const reg = await navigator.serviceWorker.register('/sw.min.js', { scope: '/' })
  await navigator.serviceWorker.ready
  if (!navigator.serviceWorker.controller) {
    await new Promise(resolve => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
  }
  return reg
}

async function fetchTorrent () {
  const res = await fetch(torrentURL)
  if (!res.ok) throw new Error(`GET ${torrentURL}: ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

try {
  const [reg, buf] = await Promise.all([serviceWorker(), fetchTorrent()])
  // WebTorrent's defaults but for ICE servers: its default STUN servers
  // are third parties', unreachable from the test network.
  const client = new WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
  client.on('error', fail)
  client.createServer({ controller: reg })
  const torrent = client.add(buf)
  torrent.on('error', fail)
  torrent.on('warning', err => console.warn('play: warning:', err.message || err))
  torrent.on('wire', (wire, addr) => {
    console.log(`play: wire ${wire.type} ${addr || ''}`)
    wire.on('download', n => {
      bytesByWireType[wire.type] = (bytesByWireType[wire.type] || 0) + n
      bytesBySource[sourceOf(wire)] += n
    })
  })
  torrent.on('ready', () => {
    const file = torrent.files.find(f => /\.(mp4|webm|m4v)$/i.test(f.name))
    if (!file) return fail(new Error('the torrent has no video'))
    file.streamTo(video)
    video.play().catch(err => console.warn('play:', err.message))
  })
} catch (err) {
  fail(err)
}

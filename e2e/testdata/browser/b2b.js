// b2b.js is the WebTorrent side of TestBrowserToBrowserThroughTracker: one page
// seeds, another downloads, and both report what happened. The test calls the
// exported functions through window.e2e, a promise of this module.
import WebTorrent from '/webtorrent/webtorrent.min.js'

const record = window.e2eRecord

// newClient returns a WebTorrent client without ICE servers: WebTorrent's
// default Google and Twilio STUN servers are unreachable from the test network
// and must not be contacted. Host candidates remain, hidden as <uuid>.local
// mDNS names by Chromium's default.
function newClient () {
  const client = new WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
  client.on('error', err => console.error('webtorrent client error:', err.message))
  return client
}

function watch (torrent, label) {
  torrent.on('warning', err => console.warn(`${label} warning:`, err.message))
  torrent.on('error', err => console.error(`${label} error:`, err.message))
  torrent.on('wire', (wire, addr) => console.log(`${label}: wire ${wire.type} ${addr || wire.remoteAddress || ''}`))
}

// until resolves when torrent has emitted every event in names, and rejects on
// its first error.
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

// seed fetches dataURL from the page's origin and seeds it as one file,
// announcing to announceURL only. It resolves once the file is in the store
// and the tracker has answered the first announce, so a peer that announces
// afterwards gets its offers forwarded to this page.
export async function seed (dataURL, announceURL, name) {
  const res = await fetch(dataURL)
  if (!res.ok) throw new Error(`GET ${dataURL}: ${res.status}`)
  const file = new File([await res.blob()], name)
  const client = newClient()
  const torrent = client.seed(file, { announce: [announceURL] })
  watch(torrent, 'seed')
  await until(torrent, 'seed', 'trackerAnnounce')
  window.e2eTorrent = torrent
  return {
    magnetURI: torrent.magnetURI,
    infoHash: torrent.infoHash,
    length: torrent.length,
    pieceLength: torrent.pieceLength,
    announce: torrent.announce
  }
}

// download adds magnetURI with announceURL as its only tracker, waits until
// every piece is verified, and reports the SHA-256 of the file it holds, how
// it got the bytes, and how long that took.
export async function download (magnetURI, announceURL) {
  const client = newClient()
  const start = performance.now()
  const torrent = client.add(magnetURI, { announce: [announceURL] })
  watch(torrent, 'download')
  const bytesByWireType = {}
  let wires = 0
  torrent.on('wire', wire => {
    wires++
    wire.on('download', n => { bytesByWireType[wire.type] = (bytesByWireType[wire.type] || 0) + n })
  })
  await until(torrent, 'done')
  const ms = performance.now() - start

  const buf = await torrent.files[0].arrayBuffer()
  const digest = await crypto.subtle.digest('SHA-256', buf)
  return {
    ms,
    sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join(''),
    byteLength: buf.byteLength,
    length: torrent.length,
    downloaded: torrent.downloaded,
    received: torrent.received,
    wires,
    bytesByWireType
  }
}

// report returns what record.js saw, with the candidate pair each connected
// peer connection selected.
export async function report () {
  const pairs = []
  for (const pc of record.pcs) {
    if (pc.connectionState !== 'connected') continue
    const stats = await pc.getStats()
    let pair
    for (const s of stats.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId)
    }
    if (!pair) continue
    const cand = id => {
      const c = stats.get(id) || {}
      return { candidateType: c.candidateType, address: c.address, port: c.port, protocol: c.protocol }
    }
    pairs.push({ local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) })
  }
  return { sdps: record.sdps, wsURLs: record.wsURLs, peerConnections: record.pcs.length, pairs }
}

// downloadAll adds magnetURI with announceURL as its only tracker, waits
// until every piece of every file is verified, keeps seeding, and reports
// the SHA-256 and length of each file it holds, by path, and how it got
// the bytes.
export async function downloadAll (magnetURI, announceURL) {
  const client = newClient()
  const torrent = client.add(magnetURI, { announce: [announceURL] })
  watch(torrent, 'downloadAll')
  const bytesByWireType = {}
  torrent.on('wire', wire => {
    wire.on('download', n => { bytesByWireType[wire.type] = (bytesByWireType[wire.type] || 0) + n })
  })
  await until(torrent, 'done')
  const files = {}
  for (const f of torrent.files) {
    const buf = await f.arrayBuffer()
    const digest = await crypto.subtle.digest('SHA-256', buf)
    files[f.path] = { length: buf.byteLength, sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('') }
  }
  window.e2eTorrent = torrent
  return { files, bytesByWireType, uploaded: torrent.uploaded }
}

// uploaded is what the torrent of downloadAll has sent to other peers.
export function uploaded () {
  return window.e2eTorrent ? window.e2eTorrent.uploaded : 0
}

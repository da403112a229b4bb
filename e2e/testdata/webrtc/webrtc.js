// webrtc.js is the WebTorrent side of e2e/webrtc_test.go: the page downloads
// a torrent from seedcast over WebRTC and reports how. The test calls the
// exported functions through window.e2e, a promise of this module; record.js
// (window.e2eRecord) has already wrapped RTCPeerConnection and WebSocket.
import WebTorrent from '/webtorrent/webtorrent.min.js'

const record = window.e2eRecord

// stallMS is how long torrent.downloaded may stay the same, once the first
// byte has arrived, before the download counts as stalled. WebTorrent itself
// drops a wire after 30 s without a piece (PIECE_TIMEOUT).
const stallMS = 20000

let client
let torrent
// state of the download in progress; see start.
let st

const hex = s => s == null ? null : [...s].map(c => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')
const ascii = h => h == null ? null : h.replace(/../g, b => { const c = parseInt(b, 16); return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.' })

// start fetches the .torrent at torrentURL and adds it to a new WebTorrent
// client without ICE servers (WebTorrent's default Google and Twilio STUN
// servers are unreachable from the test network; host candidates remain,
// hidden as <uuid>.local mDNS names by Chromium's default). downloadLimit,
// if not -1, throttles the client in bytes per second. start resolves once
// the torrent is ready (it has the info dictionary from the buffer), and
// then samples torrent.downloaded every second to time the first byte and
// to catch stalls.
export async function start (torrentURL, downloadLimit = -1) {
  const res = await fetch(torrentURL)
  if (!res.ok) throw new Error(`GET ${torrentURL}: ${res.status} ${res.statusText}`)
  const buf = new Uint8Array(await res.arrayBuffer())

  client = new WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
  client.on('error', err => console.error('webtorrent client error:', err.message))
  if (downloadLimit !== -1) client.throttleDownload(downloadLimit)

  st = {
    added: performance.now(),
    firstWire: null,
    firstByte: null,
    done: null,
    lastGrowth: null,
    lastDownloaded: 0,
    samples: [], // [ms since added, torrent.downloaded], every second
    stalled: null, // an Error once stalled
    bytesByWireType: {},
    wires: [] // {type, peerId (hex), addr, downloaded}
  }
  torrent = client.add(buf)
  torrent.on('warning', err => console.warn('torrent warning:', err.message))
  torrent.on('error', err => console.error('torrent error:', err.message))
  torrent.on('wire', (wire, addr) => {
    const w = { type: wire.type, peerId: wire.peerId || null, addr: addr || wire.remoteAddress || '', downloaded: 0, connected: performance.now() - st.added, closed: null }
    st.wires.push(w)
    if (st.firstWire === null) st.firstWire = performance.now()
    console.log(`wire ${wire.type} ${w.addr} after ${Math.round(w.connected)} ms`)
    wire.on('handshake', (infoHash, peerId) => { w.peerId = peerId })
    wire.on('download', n => {
      w.downloaded += n
      st.bytesByWireType[wire.type] = (st.bytesByWireType[wire.type] || 0) + n
      if (st.firstByte === null) st.firstByte = performance.now()
    })
    wire.on('close', () => { w.closed = performance.now() - st.added })
  })
  torrent.once('done', () => { st.done = performance.now() })
  await new Promise((resolve, reject) => {
    if (torrent.ready) return resolve()
    torrent.once('ready', resolve)
    torrent.once('error', reject)
  })

  st.timer = setInterval(() => {
    const now = performance.now()
    const d = torrent.downloaded
    st.samples.push([Math.round(now - st.added), d])
    if (d > st.lastDownloaded || st.firstByte === null) {
      st.lastDownloaded = d
      st.lastGrowth = now
    }
    if (st.done !== null) {
      clearInterval(st.timer)
    } else if (now - st.lastGrowth > stallMS && !st.stalled) {
      st.stalled = new Error(`stalled: torrent.downloaded stuck at ${d} of ${torrent.length} bytes ` +
        `(${(100 * d / torrent.length).toFixed(1)}%) for ${Math.round((now - st.lastGrowth) / 1000)} s, ` +
        `${Math.round((now - st.added) / 1000)} s after adding; wires now: ${JSON.stringify(wireStates())}`)
      console.error(st.stalled.message)
    }
  }, 1000)

  return {
    infoHash: torrent.infoHash,
    name: torrent.name,
    length: torrent.length,
    pieceLength: torrent.pieceLength,
    urlList: torrent.urlList || [],
    announce: torrent.announce || []
  }
}

// wireStates describes the torrent's wires now, for stall reports.
function wireStates () {
  return torrent.wires.map(w => ({
    type: w.type,
    peer: ascii(w.peerId),
    amChoking: w.amChoking,
    amInterested: w.amInterested,
    peerChoking: w.peerChoking,
    peerInterested: w.peerInterested,
    requests: w.requests.length,
    peerRequests: w.peerRequests.length,
    downloaded: w.downloaded,
    uploaded: w.uploaded
  }))
}

// until resolves when cond() is true, checked every 100 ms, and rejects as
// soon as the download stalls.
function until (cond) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (st.stalled) return reject(st.stalled)
      if (cond()) return resolve()
      setTimeout(check, 100)
    }
    check()
  })
}

// progress resolves once at least minBytes have arrived, with the count.
export async function progress (minBytes) {
  await until(() => torrent.downloaded >= minBytes)
  return torrent.downloaded
}

// finish lifts any throttle, waits until every piece is verified, and
// reports the SHA-256 of the file the page holds, how it got the bytes and
// how long that took (in ms since start added the torrent).
export async function finish () {
  client.throttleDownload(-1)
  await until(() => st.done !== null)
  const buf = await torrent.files[0].arrayBuffer()
  const digest = await crypto.subtle.digest('SHA-256', buf)
  const ms = t => t === null ? null : t - st.added
  return {
    sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join(''),
    byteLength: buf.byteLength,
    length: torrent.length,
    downloaded: torrent.downloaded,
    received: torrent.received,
    urlList: torrent.urlList || [],
    firstWireMS: ms(st.firstWire),
    firstByteMS: ms(st.firstByte),
    doneMS: ms(st.done),
    samples: st.samples,
    bytesByWireType: st.bytesByWireType,
    wires: st.wires
  }
}

// report returns what record.js saw: each peer connection with the peer id
// of its other end (hex, when a tracker message named it), the type of its
// local description, its state and, when connected, its selected candidate
// pair and transport figures; the SDPs; the tracker messages by kind; and
// the WebSocket URLs.
export async function report () {
  const pcs = []
  for (const pc of record.pcs) {
    const r = {
      peerId: hex(pc.e2ePeerId),
      localType: pc.localDescription ? pc.localDescription.type : null,
      remoteType: pc.remoteDescription ? pc.remoteDescription.type : null,
      state: pc.connectionState,
      connectedMS: pc.e2eConnected === undefined ? null : Math.round(pc.e2eConnected - pc.e2eCreated),
      pair: null,
      dataChannels: []
    }
    pcs.push(r)
    if (pc.connectionState === 'closed') continue
    const stats = await pc.getStats()
    const cand = id => {
      const c = stats.get(id) || {}
      return { candidateType: c.candidateType || '', address: c.address || '', port: c.port || 0, protocol: c.protocol || '' }
    }
    for (const s of stats.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const p = stats.get(s.selectedCandidatePairId)
        if (p) {
          r.pair = {
            state: p.state,
            nominated: !!p.nominated,
            local: cand(p.localCandidateId),
            remote: cand(p.remoteCandidateId),
            bytesSent: p.bytesSent || 0,
            bytesReceived: p.bytesReceived || 0,
            rttMS: p.currentRoundTripTime === undefined ? null : p.currentRoundTripTime * 1000
          }
        }
      }
      if (s.type === 'data-channel') {
        r.dataChannels.push({ label: s.label, state: s.state, bytesReceived: s.bytesReceived || 0, bytesSent: s.bytesSent || 0, messagesReceived: s.messagesReceived || 0 })
      }
    }
  }
  return {
    signal: record.signal,
    pcs,
    sdps: record.sdps.map(s => ({ dir: s.dir, type: s.type, sdp: s.sdp, peerId: hex(s.peerId) })),
    wsURLs: record.wsURLs,
    counts: record.counts
  }
}

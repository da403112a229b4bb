// record.js wraps RTCPeerConnection and WebSocket before WebTorrent loads, so
// that the e2e test can see and steer what WebTorrent does:
//
//   - every peer connection, the SDP it sent and received, and the 20-byte
//     peer id of the other end, learnt by matching the remote SDP with the
//     tracker message that carried it;
//   - every tracker message in and out (action, and whether it carried
//     offers, an offer or an answer);
//   - with ?signal=drop-relayed-offers, incoming tracker messages carrying an
//     offer are dropped, so the page never answers anyone and its only
//     connections are its own offers, answered;
//   - with ?signal=strip-own-offers, the offers are removed from outgoing
//     announces, so nobody can answer the page and its only connections are
//     offers of others that it answered.
//
// It is a classic script that runs before any module, so WebTorrent only ever
// sees the wrapped constructors (simple-websocket takes the global WebSocket
// when its module is evaluated).
'use strict'
;(() => {
  const signal = new URLSearchParams(location.search).get('signal') || 'none'
  if (!['none', 'drop-relayed-offers', 'strip-own-offers'].includes(signal)) {
    throw new Error(`record.js: unknown ?signal=${signal}`)
  }

  const pcs = []
  // sdps holds {dir: 'local'|'remote', type: 'offer'|'answer', sdp, peerId}.
  const sdps = []
  const wsURLs = []
  // counts of tracker messages by kind: 'out announce', 'out announce+offers',
  // 'out answer', 'in offer', 'in answer', 'in response', 'dropped offer',
  // 'stripped offers', ...
  const counts = {}
  const count = k => { counts[k] = (counts[k] || 0) + 1 }
  // peerBySDP maps the SDP of an offer or answer that came from the tracker
  // to the binary peer id of its sender.
  const peerBySDP = new Map()

  const NativePC = window.RTCPeerConnection
  window.RTCPeerConnection = class extends NativePC {
    constructor (...args) {
      super(...args)
      this.e2eCreated = performance.now()
      this.e2ePeerId = null
      pcs.push(this)
      // WebTorrent does not trickle (simple-peer trickle:false): it sends the
      // local description once gathering completes, candidates included.
      this.addEventListener('icegatheringstatechange', () => {
        if (this.iceGatheringState === 'complete' && this.localDescription) {
          sdps.push({ dir: 'local', type: this.localDescription.type, sdp: this.localDescription.sdp, peerId: this.e2ePeerId })
        }
      })
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected' && this.e2eConnected === undefined) this.e2eConnected = performance.now()
      })
    }

    setRemoteDescription (desc, ...rest) {
      if (desc) {
        if (peerBySDP.has(desc.sdp)) this.e2ePeerId = peerBySDP.get(desc.sdp)
        sdps.push({ dir: 'remote', type: desc.type, sdp: desc.sdp, peerId: this.e2ePeerId })
      }
      return super.setRemoteDescription(desc, ...rest)
    }
  }

  const text = data => typeof data === 'string' ? data : new TextDecoder().decode(data)

  const NativeWS = window.WebSocket
  window.WebSocket = class extends NativeWS {
    constructor (url, ...rest) {
      super(url, ...rest)
      wsURLs.push(String(url))
    }

    send (data) {
      let msg
      try { msg = JSON.parse(text(data)) } catch { return super.send(data) }
      if (msg.answer) count('out answer')
      else if (msg.action === 'announce' && msg.offers && msg.offers.length) count('out announce+offers')
      else count(`out ${msg.action}`)
      if (signal === 'strip-own-offers' && msg.action === 'announce' && msg.offers) {
        delete msg.offers
        count('stripped offers')
        return super.send(JSON.stringify(msg))
      }
      return super.send(data)
    }

    set onmessage (fn) {
      super.onmessage = fn && (ev => {
        let msg
        try { msg = JSON.parse(text(ev.data)) } catch { return fn.call(this, ev) }
        if (msg.offer) {
          count('in offer')
          if (msg.offer.sdp) peerBySDP.set(msg.offer.sdp, msg.peer_id)
          if (signal === 'drop-relayed-offers') {
            count('dropped offer')
            return
          }
        } else if (msg.answer) {
          count('in answer')
          if (msg.answer.sdp) peerBySDP.set(msg.answer.sdp, msg.peer_id)
        } else {
          count(`in ${msg['failure reason'] ? 'failure' : 'response'}`)
        }
        return fn.call(this, ev)
      })
    }

    get onmessage () { return super.onmessage }
  }

  window.e2eRecord = { signal, pcs, sdps, wsURLs, counts }
})()

// record.js wraps RTCPeerConnection and WebSocket so that the e2e test can see
// what WebTorrent did: every peer connection, the SDP it sent and received
// (with its ICE candidates), and every WebSocket it opened. It is a classic
// script that runs before any module, so WebTorrent only ever sees the
// wrapped constructors.
'use strict'
;(() => {
  const pcs = []
  // sdps holds {dir: 'local'|'remote', type: 'offer'|'answer', sdp}.
  const sdps = []
  const wsURLs = []

  const NativePC = window.RTCPeerConnection
  window.RTCPeerConnection = class extends NativePC {
    constructor (...args) {
      super(...args)
      pcs.push(this)
      // WebTorrent does not trickle (simple-peer trickle:false): it sends the
      // local description once gathering completes, candidates included.
      this.addEventListener('icegatheringstatechange', () => {
        if (this.iceGatheringState === 'complete' && this.localDescription) {
          sdps.push({ dir: 'local', type: this.localDescription.type, sdp: this.localDescription.sdp })
        }
      })
    }

    setRemoteDescription (desc, ...rest) {
      if (desc) sdps.push({ dir: 'remote', type: desc.type, sdp: desc.sdp })
      return super.setRemoteDescription(desc, ...rest)
    }
  }

  const NativeWS = window.WebSocket
  window.WebSocket = class extends NativeWS {
    constructor (url, ...rest) {
      super(url, ...rest)
      wsURLs.push(String(url))
    }
  }

  window.e2eRecord = { pcs, sdps, wsURLs }
})()

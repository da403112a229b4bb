// reference-tracker.mjs runs bittorrent-tracker's WebSocket tracker, the
// reference implementation of the WebTorrent tracker protocol, for comparison
// with seedcast's.
//
// usage: node reference-tracker.mjs SERVER_JS_URL HOST PORT
// where SERVER_JS_URL is the file: URL of bittorrent-tracker/server.js in
// web/node_modules. (The package's main entry also loads the client, which
// needs a native WebRTC module that npm install --ignore-scripts leaves
// unbuilt.)
const [serverURL, host, port] = process.argv.slice(2)
const { default: Server } = await import(serverURL)
const server = new Server({ udp: false, http: false, ws: true, stats: false })
server.on('error', err => {
  console.error('tracker error:', err.message)
  process.exit(1)
})
server.on('warning', err => console.error('tracker warning:', err.message))
server.on('start', addr => console.log('start', addr))
server.on('complete', addr => console.log('complete', addr))
server.on('stop', addr => console.log('stop', addr))
server.on('listening', () => console.log(`listening on ${host}:${port}`))
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)))
server.listen(Number(port), host)

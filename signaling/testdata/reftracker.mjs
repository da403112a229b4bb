// reftracker.mjs runs the reference WebTorrent tracker, the npm package
// bittorrent-tracker (v11.2.3, a dependency of webtorrent), for
// signaling/reference_test.go.
//
// Usage: node reftracker.mjs <dir of the bittorrent-tracker package>
//
// It serves only the WebSocket tracker on 127.0.0.1 at a free port, prints
// {"port":N} as one line on stdout once listening, and exits when stdin
// closes, so an orphaned server dies with the test process that started it.
// Server warnings (bad client messages) go to stderr, which the test shows
// when it fails.
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node reftracker.mjs <path to node_modules/bittorrent-tracker>')
  process.exit(2)
}

// Import server.js, not the package index: the index also loads the client,
// which pulls in node-datachannel, a native module that an install with
// --ignore-scripts leaves unbuilt.
const { default: Server } = await import(pathToFileURL(path.join(path.resolve(dir), 'server.js')).href)

const server = new Server({ udp: false, http: false, ws: true, stats: false, trustProxy: false })
server.on('error', err => {
  console.error(`reftracker: ${err.stack || err}`)
  process.exit(1)
})
server.on('warning', err => {
  console.error(`reftracker: warning: ${err.message || err}`)
})
server.on('listening', () => {
  process.stdout.write(JSON.stringify({ port: server.ws.address().port }) + '\n')
})
server.listen(0, '127.0.0.1')

process.stdin.on('end', () => process.exit(0))
process.stdin.on('close', () => process.exit(0))
process.stdin.resume()

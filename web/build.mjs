// build.mjs builds the front end into dist/, which the Go package embeds:
// the pages' TypeScript and CSS bundled by esbuild, and WebTorrent's
// prebuilt ESM dist and service worker copied as they are (WebTorrent's
// maintainers advise against re-bundling it:
// https://github.com/webtorrent/webtorrent/issues/2814). `make web` runs
// it after `tsc --noEmit` has checked the types.
import { copyFile, readdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

process.chdir(fileURLToPath(new URL('.', import.meta.url)))

// Everything but the committed README goes, so no stale file is embedded.
for (const name of await readdir('dist')) {
  if (name !== 'README.md') await rm(`dist/${name}`, { recursive: true, force: true })
}

// The pages import 'webtorrent'; the browser loads the copy beside them.
const webtorrentDist = {
  name: 'webtorrent-dist',
  setup (build) {
    build.onResolve({ filter: /^webtorrent$/ }, () => ({ path: './webtorrent.min.js', external: true }))
  }
}

await esbuild.build({
  entryPoints: ['src/watch.ts', 'src/library.ts', 'src/pending.ts', 'src/bundle.ts', 'src/style.css'],
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome100', 'firefox100', 'safari15.4'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  charset: 'utf8',
  plugins: [webtorrentDist],
  logLevel: 'warning'
})

const copies = [
  ['node_modules/webtorrent/dist/webtorrent.min.js', 'webtorrent.min.js'],
  ['node_modules/webtorrent/dist/webtorrent.min.js.map', 'webtorrent.min.js.map'],
  ['node_modules/webtorrent/dist/sw.min.js', 'sw.min.js'],
  ['node_modules/webtorrent/dist/sw.min.js.map', 'sw.min.js.map'],
  ['src/icon.svg', 'icon.svg']
]
for (const [from, to] of copies) await copyFile(from, `dist/${to}`)

// Entry of the watch page (/watch/{infohash}) and of the player alone
// (/embed/{infohash}).
import { pageData, type FileInfo, type PageData } from './data'
import { Player, type Stats } from './player'
import { bytes, clock, rate } from './format'
import { bindCopyButtons } from './copy'
import { reportDelivery } from './report'
import { liveMeter } from './meter'

/** previewBytes is how much of a text file the page shows inline. */
const previewBytes = 64 << 10

const data = pageData()
// A torrent without picture or sound has no player, only its list.
const root = document.querySelector<HTMLElement>('[data-player]')
const player = root ? new Player(root, data) : null
player?.bindKeys(document)

if (!data.embed) watch(player, data)
else if (player) embed(player, data)

function watch (player: Player | null, data: PageData): void {
  bindCopyButtons(document)
  bindFiles(player, data)
  if (!player) return
  const duration = document.querySelector<HTMLElement>('[data-meta="duration"]')
  const dimensions = document.querySelector<HTMLElement>('[data-meta="dimensions"]')
  player.onVideo('loadedmetadata', () => {
    const v = player.video
    if (duration && Number.isFinite(v.duration)) {
      duration.textContent = clock(v.duration)
      duration.hidden = false
    }
    if (dimensions) {
      dimensions.textContent = v.videoWidth > 0 ? `${v.videoWidth} × ${v.videoHeight}` : ''
      dimensions.hidden = v.videoWidth === 0
    }
  })
  let streamed = 0
  const tick = () => {
    const st = player.stats()
    streamed = Math.max(streamed, player.bufferedBytes())
    showStats(st, streamed)
    player.renderSource()
  }
  tick()
  setInterval(tick, 1000)
  reportDelivery(data.base, data.infohash, () => player.stats())
  if (data.bundle) liveMeter(data.base, data.bundle)
  player.start(data.autoplay)
}

function setStat (name: string, text: string, value?: number): void {
  for (const el of document.querySelectorAll<HTMLElement>(`[data-stat="${name}"]`)) {
    el.textContent = text
    if (value !== undefined) el.dataset.value = String(value)
  }
}

function showStats (st: Stats, streamed: number): void {
  const server = st.fromServerRTC + st.fromServerHTTP + (st.mode === 'stream' ? streamed : 0)
  const total = st.fromViewers + server
  const modes: Record<Stats['mode'], string> = {
    idle: 'Ready',
    connecting: 'Finding peers…',
    head: 'Starting from the server while peers connect…',
    p2p: st.fromViewers > 0 ? 'Peer-to-peer, with other viewers' : 'Peer-to-peer',
    stream: 'Streaming from the server'
  }
  setStat('mode', modes[st.mode])
  const box = document.querySelector<HTMLElement>('[data-delivery]')
  if (box) box.dataset.mode = st.mode
  setStat('viewers', bytes(st.fromViewers), st.fromViewers)
  setStat('server', bytes(server), server)
  setStat('server-rtc', bytes(st.fromServerRTC), st.fromServerRTC)
  setStat('server-http', bytes(st.fromServerHTTP + (st.mode === 'stream' ? streamed : 0)), st.fromServerHTTP)
  setStat('peers', String(st.peers), st.peers)
  setStat('speed', st.mode === 'p2p' ? rate(st.downloadSpeed) : '–', st.downloadSpeed)
  setStat('uploaded', bytes(st.uploaded), st.uploaded)
  let note = ''
  if (st.mode === 'stream') note = `Peer-to-peer unavailable: ${st.reason.replace(/^peer-to-peer unavailable: /, '')}.`
  else if (st.mode === 'p2p' && st.viewers === 0) note = 'No other viewers connected right now: the server sends everything.'
  else if (st.mode === 'p2p') note = `Connected to ${st.viewers} other viewer${st.viewers === 1 ? '' : 's'}.`
  setStat('note', note)
  const v = document.querySelector<HTMLElement>('[data-meter="viewers"]')
  const s = document.querySelector<HTMLElement>('[data-meter="server"]')
  if (v && s) {
    v.style.width = total > 0 ? `${(st.fromViewers / total) * 100}%` : '0'
    s.style.width = total > 0 ? `${(server / total) * 100}%` : '0'
  }
}

/** bindFiles makes the file list of a bundle play, preview and mark the file in the player. */
function bindFiles (player: Player | null, data: PageData): void {
  const mark = () => {
    for (const row of document.querySelectorAll<HTMLElement>('[data-file]')) {
      const on = data.files[Number(row.dataset.file)] === player?.current
      row.classList.toggle('current', on)
      if (on) row.setAttribute('aria-current', 'true')
      else row.removeAttribute('aria-current')
    }
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-play]')) {
    b.addEventListener('click', () => {
      const f = data.files[Number(b.dataset.play)]
      player?.load(f, true)
      const now = document.querySelector('[data-now]')
      if (now) now.textContent = f.name
      const u = new URL(location.href)
      u.searchParams.set('file', f.path)
      history.replaceState(null, '', u)
      mark()
      document.querySelector('[data-player]')?.scrollIntoView({ behavior: 'smooth', block: 'center' })
    })
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-preview]')) {
    b.addEventListener('click', () => togglePreview(b, data.files[Number(b.dataset.preview)]))
  }
  mark()
  // The file a link named: opened and in view.
  const focus = document.querySelector<HTMLElement>(`[data-file="${data.focus}"]`)
  if (focus) {
    focus.classList.add('focus')
    const b = focus.querySelector<HTMLButtonElement>('[data-preview]')
    if (b) togglePreview(b, data.files[data.focus])
    focus.scrollIntoView({ block: 'start' })
  }
}

async function togglePreview (b: HTMLButtonElement, f: FileInfo): Promise<void> {
  const box = document.getElementById(b.getAttribute('aria-controls') ?? '')
  if (!box) return
  const open = b.getAttribute('aria-expanded') === 'true'
  b.setAttribute('aria-expanded', String(!open))
  box.hidden = open
  if (open || box.childElementCount > 0) return
  if (f.kind === 'image') {
    const img = document.createElement('img')
    img.src = f.url
    img.alt = f.name
    img.decoding = 'async'
    box.append(img)
    return
  }
  const pre = document.createElement('pre')
  box.append(pre)
  pre.textContent = 'Loading…'
  try {
    const res = await fetch(f.url, { headers: { Range: `bytes=0-${previewBytes - 1}` } })
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
    const text = new TextDecoder().decode(await res.arrayBuffer())
    pre.textContent = f.length > previewBytes ? `${text}\n…` : text
  } catch (err) {
    pre.textContent = `Could not load ${f.name}: ${err instanceof Error ? err.message : err}`
  }
}

/**
 * embed runs the player alone in an iframe. It starts on play, or at once
 * with ?autoplay=1, and tells the embedding page what it does through
 * postMessage ({type: 'seedcast', event, currentTime, duration, paused,
 * mode}); the embedding page may send {type: 'seedcast', command: 'play' |
 * 'pause' | 'seek' | 'mute' | 'unmute', time}.
 */
function embed (player: Player, data: PageData): void {
  reportDelivery(data.base, data.infohash, () => player.stats())
  if (data.bundle) liveMeter(data.base, data.bundle)
  if (data.autoplay) player.start(true)
  else player.previewFrame()
  setInterval(() => player.renderSource(), 1000)
  if (window.parent === window) return
  const post = (event: string) => {
    const v = player.video
    const st = player.stats()
    window.parent.postMessage({
      type: 'seedcast',
      event,
      infohash: data.infohash,
      currentTime: v.currentTime,
      duration: Number.isFinite(v.duration) ? v.duration : null,
      paused: v.paused,
      muted: v.muted,
      mode: st.mode,
      peers: st.peers
    }, '*')
  }
  for (const ev of ['play', 'playing', 'pause', 'waiting', 'seeked', 'ended', 'timeupdate', 'loadedmetadata']) {
    player.onVideo(ev, () => post(ev))
  }
  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== window.parent || e.data?.type !== 'seedcast') return
    switch (e.data.command) {
      case 'play': player.play(); break
      case 'pause': player.pause(); break
      case 'seek': if (typeof e.data.time === 'number') player.seek(e.data.time); break
      case 'mute': player.setMuted(true); break
      case 'unmute': player.setMuted(false); break
    }
  })
  post('ready')
}

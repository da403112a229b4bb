// The player: a <video> fed by WebTorrent through its service worker, or
// by the node's /stream when peers do not deliver, with its own controls,
// keyboard, captions and poster.
//
// The controls are the page's own, not an element library's: media-chrome
// 4.19's elements for the same controls (play, mute, volume, seek bar,
// time, speed and captions menus, picture-in-picture, full screen) bundle
// to 46 kB gzipped, where this whole player, its delivery and menus
// included, is 7 kB and its style 2.5 kB (issue 10).
import type { FileInfo, PageData } from './data'
import { P2P, mark, webrtcAvailable, type Delivery } from './p2p'
import { clock } from './format'
import { Menu } from './menu'
import { srtToVTT } from './srt'
import { Wants } from './want'
import type { FileKeyJSON } from './decrypt'

/** setupMS bounds registering the service worker, fetching the .torrent and loading WebTorrent. */
const setupMS = 5000
/**
 * firstByteMS is how long the torrent may go without a byte from any peer
 * or web seed, once added, before the player streams from /stream instead
 * (WebRTC blocked, no web seed).
 */
const firstByteMS = 3000
/**
 * stallMS is how long playback may starve while the torrent receives
 * nothing before the player streams from /stream instead; starveMS is how
 * long it may starve at all.
 */
const stallMS = 4000
const starveMS = 10000
/**
 * handoverLeadSec is how far ahead of the opening stream's playhead the
 * peer-to-peer element waits, ready, for the hand-over; handoverMS bounds
 * the wait for it to get there, after which the page tries again.
 */
const handoverLeadSec = 0.5
const handoverMS = 6000
/** bootAfterMS bounds the wait for the opening stream's first frame before WebTorrent starts anyway. */
const bootAfterMS = 1500
/** seekStepSec is how far the arrow keys seek. */
const seekStepSec = 5
/** speeds are the playback rates of the speed menu. */
const speeds = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]
/** idleMS is how long the pointer may rest before the controls fade while playing. */
const idleMS = 2500
/** previewAtSec is where the preview frame of an embed is taken: films open on black. */
const previewAtSec = 2
/** posterUntilSec ends the search for a poster frame that is not black; blackLuma is the mean luma (0–255) below which a frame counts as black. */
const posterUntilSec = 15
const blackLuma = 16

/**
 * Mode is where the video's bytes come from: 'head' is the node's opening
 * stream, played while WebTorrent starts, until the hand-over to 'p2p'.
 */
export type Mode = 'idle' | 'connecting' | 'head' | 'p2p' | 'stream'

/** Stats is what the page shows of the player's delivery. */
export interface Stats extends Delivery {
  mode: Mode
  /** Why the player streams from the server, in stream mode. */
  reason: string
}

const noDelivery: Delivery = {
  fromViewers: 0, fromServerRTC: 0, fromServerHTTP: 0, uploaded: 0, peers: 0, viewers: 0, downloadSpeed: 0, uploadSpeed: 0, progress: 0
}

type State = 'idle' | 'loading' | 'playing' | 'paused' | 'buffering' | 'ended' | 'error'

function role<T extends HTMLElement = HTMLElement> (root: HTMLElement, name: string): T {
  const el = root.querySelector<T>(`[data-role="${name}"]`)
  if (!el) throw new Error(`seedcast: the player has no ${name}`)
  return el
}

function timeout<T> (p: Promise<T>, ms: number, msg: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(msg)), ms)
    p.then(v => { clearTimeout(t); resolve(v) }, err => { clearTimeout(t); reject(err) })
  })
}

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** languageName names a language code in the viewer's language, or returns "". */
function languageName (code: string): string {
  try {
    return new Intl.DisplayNames([navigator.language, 'en'], { type: 'language' }).of(code) ?? ''
  } catch {
    return ''
  }
}

interface WebkitVideo extends HTMLVideoElement {
  webkitEnterFullscreen?: () => void
}

export class Player {
  /** video is the element playing: the hand-over to peers replaces it. */
  video: HTMLVideoElement
  private readonly ui: {
    bigplay: HTMLElement
    message: HTMLElement
    unmute: HTMLElement
    play: HTMLElement
    mute: HTMLElement
    volume: HTMLInputElement
    cur: HTMLElement
    dur: HTMLElement
    scrub: HTMLElement
    buffered: HTMLElement
    played: HTMLElement
    tip: HTMLElement
    source: HTMLElement
    speed: HTMLElement
    rate: HTMLElement
    cc: HTMLElement
    pip: HTMLElement
    fs: HTMLElement
    toast: HTMLElement
    audio: HTMLElement
    captions: HTMLElement
  }

  private readonly menus: Menu[]

  private file: FileInfo
  /** wants tells a node still fetching the film where this viewer plays. */
  private readonly wants: Wants
  private mode: Mode = 'idle'
  private reason = ''
  private p2p: P2P | null = null
  private last: Delivery = noDelivery
  private started = false
  /** wantPlay is whether the viewer wants the video playing, whatever it does now. */
  private wantPlay = false
  /** switching is set while the source changes, when pause events are not the viewer's. */
  private switching = false
  private error = ''
  private timer = 0
  private addedAt = 0
  private lastReceived = 0
  private lastGrowth = 0
  private starvingSince = 0
  private posterSet = false
  /** previewing is set while the video holds a preview frame from /stream, before the player starts. */
  private previewing = false
  private blobURLs: string[] = []
  private idleTimer = 0
  private toastTimer = 0
  private scrubbing = false
  /** caption is the index of the captions shown, -1 for none. */
  private caption = -1
  /**
   * autoMuted is set while the video is muted because the browser refused
   * to play it with sound without a gesture; the viewer's next gesture to
   * play brings the sound back.
   */
  private autoMuted = false
  /** pointer is the type of the last pointer pressed: mouse, pen or touch. */
  private pointer = ''
  /** tapWakes is set by a touch that found the controls faded: it shows them, and does not pause. */
  private tapWakes = false
  /** videoListeners are the video's listeners, moved to the new element at a hand-over. */
  private readonly videoListeners: Array<[string, EventListener]> = []
  /** handing is set while a hand-over to peer-to-peer is under way. */
  private handing = false
  private played = false
  /** headBytes estimates what the opening stream delivered, once handed over. */
  private headBytes = 0

  constructor (private readonly root: HTMLElement, private readonly data: PageData) {
    this.video = role<HTMLVideoElement>(root, 'video')
    this.ui = {
      bigplay: role(root, 'bigplay'),
      message: role(root, 'message'),
      unmute: role(root, 'unmute'),
      play: role(root, 'play'),
      mute: role(root, 'mute'),
      volume: role<HTMLInputElement>(root, 'volume'),
      cur: role(root, 'cur'),
      dur: role(root, 'dur'),
      scrub: role(root, 'scrub'),
      buffered: role(root, 'buffered'),
      played: role(root, 'played'),
      tip: role(root, 'tip'),
      source: role(root, 'source'),
      speed: role(root, 'speed'),
      rate: role(root, 'rate'),
      cc: role(root, 'cc'),
      pip: role(root, 'pip'),
      fs: role(root, 'fs'),
      toast: role(root, 'toast'),
      audio: role(root, 'audio'),
      captions: role(root, 'captions')
    }
    const toggled = (open: boolean) => open ? this.root.classList.remove('idle') : this.wake()
    this.menus = [
      new Menu(this.ui.speed, role(root, 'speed-menu'), () => speeds.map(r => ({
        label: r === 1 ? 'Normal' : `${r}×`,
        checked: this.video.playbackRate === r,
        pick: () => this.setRate(r)
      })), toggled),
      new Menu(this.ui.cc, role(root, 'cc-menu'), () => [
        { label: 'Off', checked: this.caption < 0, pick: () => this.setCaption(-1) },
        ...[...this.video.textTracks].map((t, i) => ({ label: t.label, checked: i === this.caption, pick: () => this.setCaption(i) }))
      ], toggled)
    ]
    this.file = data.files[data.main]
    this.wants = new Wants(data.base, data.infohash)
    this.bindVideo()
    this.bindControls()
    this.show(this.file)
    this.render()
  }

  /** current is the file in the player. */
  get current (): FileInfo {
    return this.file
  }

  /**
   * onVideo listens to ev of the video element, whichever element plays:
   * the hand-over from the opening stream to peer-to-peer replaces it.
   */
  onVideo (ev: string, fn: EventListener): void {
    this.videoListeners.push([ev, fn])
    this.video.addEventListener(ev, fn)
  }

  /** stats reports where the bytes came from so far. */
  stats (): Stats {
    if (this.p2p) this.last = this.p2p.delivery()
    const head = this.mode === 'head' ? this.bufferedBytes() : this.headBytes
    return { ...this.last, fromServerHTTP: this.last.fromServerHTTP + head, mode: this.mode, reason: this.reason }
  }

  /**
   * bufferedBytes estimates the bytes the video holds, from the time it
   * buffered at the file's mean bitrate: a media element counts no bytes.
   */
  bufferedBytes (): number {
    const v = this.video
    if (!Number.isFinite(v.duration) || v.duration <= 0) return 0
    let sec = 0
    for (let i = 0; i < v.buffered.length; i++) sec += v.buffered.end(i) - v.buffered.start(i)
    return Math.round(this.file.length * Math.min(1, sec / v.duration))
  }

  /**
   * start starts fetching: WebTorrent first, /stream if peers fail it.
   * With play set it plays at once, muted if the browser refuses sound
   * without a gesture.
   */
  start (play: boolean): void {
    if (play) this.wantPlay = true
    if (this.started) {
      if (play) this.playNow()
      return
    }
    if (this.file.locked) {
      // A gated file the viewer has not opened: its bytes are ciphertext
      // to this page, and /stream refuses them.
      this.error = `${this.file.name} is behind a gate: unlock it on the bundle page, ${location.origin}${this.data.base}/bundle/${this.data.bundle ?? ''}`
      this.render()
      return
    }
    this.started = true
    this.mode = 'connecting'
    mark('start')
    if (!this.data.p2p) return this.toStream(this.data.p2pOff ?? 'peer-to-peer is off on this page')
    // Without WebRTC, WebTorrent could reach the web seed alone, and the
    // page would call the node's bytes peer-to-peer: the node streams them.
    if (!webrtcAvailable()) return this.toStream('this browser has no WebRTC')
    if (this.data.head) {
      // The first frame from the node's opening stream, as fast as plain
      // HTTP; peers take over once WebTorrent has started. WebTorrent
      // starts once the first frame shows: its script and worker would
      // take the main thread from the first frame (measured: 0.43 s to the
      // first frame when both start at once, against 0.30 s for the
      // opening stream alone).
      this.mode = 'head'
      this.attach(0)
      this.render()
      let booted = false
      const boot = () => {
        if (booted) return
        booted = true
        clearTimeout(timer)
        this.boot()
      }
      const timer = setTimeout(boot, bootAfterMS)
      this.video.addEventListener('playing', boot, { once: true })
      return
    }
    this.render()
    this.boot()
  }

  /** load puts file in the player, playing it if play is set. */
  load (file: FileInfo, play: boolean): void {
    this.file = file
    this.error = ''
    this.show(file)
    if (!this.started) {
      this.start(play)
      return
    }
    this.wantPlay = play || this.wantPlay
    if (this.mode === 'head' || this.mode === 'p2p' || this.mode === 'stream') this.attach(0)
    this.render()
  }

  toggle (): void {
    if (!this.started || this.video.paused || this.video.ended) this.play()
    else this.pause()
  }

  play (): void {
    if (!this.started) return this.start(true)
    this.wantPlay = true
    if (this.video.ended) this.video.currentTime = 0
    this.playNow()
    this.render()
  }

  pause (): void {
    this.wantPlay = false
    this.video.pause()
    this.render()
  }

  seek (sec: number): void {
    const v = this.video
    if (!Number.isFinite(v.duration)) return
    v.currentTime = Math.max(0, Math.min(v.duration - 0.05, sec))
    this.render()
  }

  seekBy (sec: number): void {
    this.seek(this.video.currentTime + sec)
    this.flash(sec < 0 ? `− ${Math.abs(sec)} s` : `+ ${sec} s`)
  }

  toggleMute (): void {
    this.setMuted(!this.video.muted)
    this.flash(this.video.muted ? 'Muted' : 'Sound on')
  }

  /** setMuted mutes or unmutes the video, as the viewer asks. */
  setMuted (muted: boolean): void {
    this.video.muted = muted
    this.autoMuted = false
    this.ui.unmute.hidden = true
  }

  /** setVolume sets the volume, 0 to 1; 0 mutes, keeping the volume to come back to. */
  setVolume (volume: number): void {
    if (volume > 0) this.video.volume = volume
    this.setMuted(volume === 0)
  }

  /** setRate sets the playback speed, kept across changes of source. */
  setRate (rate: number): void {
    // Loading a source resets playbackRate to defaultPlaybackRate.
    this.video.defaultPlaybackRate = rate
    this.video.playbackRate = rate
  }

  togglePictureInPicture (): void {
    if (document.pictureInPictureElement) {
      document.exitPictureInPicture().catch(() => {})
    } else {
      this.video.requestPictureInPicture().catch(err => console.debug('seedcast: picture-in-picture:', message(err)))
    }
  }

  toggleFullscreen (): void {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {})
    } else if (document.fullscreenEnabled && this.root.requestFullscreen) {
      this.root.requestFullscreen().catch(() => {})
    } else {
      // iPhones put only videos in full screen.
      (this.video as WebkitVideo).webkitEnterFullscreen?.()
    }
  }

  /**
   * cycleCaptions steps through the captions, then off. The chosen track
   * is loaded hidden and the player draws its cues itself, so that they
   * stay clear of the controls.
   */
  cycleCaptions (): void {
    const tracks = [...this.video.textTracks]
    if (tracks.length === 0) return
    const next = this.caption + 1 < tracks.length ? this.caption + 1 : -1
    this.setCaption(next)
    this.flash(next >= 0 ? `Captions: ${tracks[next].label}` : 'Captions off')
  }

  /** setCaption shows the captions of index i among the video's tracks, none for -1. */
  setCaption (i: number): void {
    this.caption = i
    const tracks = this.video.textTracks
    for (let j = 0; j < tracks.length; j++) tracks[j].mode = j === i ? 'hidden' : 'disabled'
    this.ui.cc.classList.toggle('on', i >= 0)
    this.drawCues()
  }

  /** drawCues shows the active cues of the chosen captions. */
  private drawCues (): void {
    const box = this.ui.captions
    box.replaceChildren()
    const track = this.caption >= 0 ? this.video.textTracks[this.caption] : null
    for (const cue of track?.activeCues ?? []) {
      const line = document.createElement('span')
      line.className = 'cue'
      // The browser's WebVTT parser builds the cue's DOM: text and
      // <b>, <i>, <u>, <c>, <v> and <ruby> only, never script.
      if (cue instanceof VTTCue) line.append(cue.getCueAsHTML())
      box.append(line)
    }
  }

  /**
   * bindKeys makes the keys of target drive the player: space or k play
   * and pause, the arrows seek 5 s, f is full screen, m mutes and c steps
   * through the captions. Keys typed into fields, and those of a focused
   * slider, are left alone.
   */
  bindKeys (target: Document): void {
    target.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return
      const el = e.target instanceof Element ? e.target : null
      if (el?.closest('input:not([type="range"]), textarea, select, [contenteditable=""], [contenteditable="true"]')) return
      // A focused slider (the volume) takes its own keys.
      if (el?.matches('input[type="range"]') && /^(Arrow|Page|Home$|End$)/.test(e.key)) return
      const key = e.key.length === 1 ? e.key.toLowerCase() : e.key
      // Space on a focused button or link activates it instead.
      if (key === ' ' && el?.closest('button, a, summary')) return
      if (key === ' ' || key === 'k') this.toggle()
      else if (key === 'ArrowLeft') this.seekBy(-seekStepSec)
      else if (key === 'ArrowRight') this.seekBy(seekStepSec)
      else if (key === 'f') this.toggleFullscreen()
      else if (key === 'm') this.toggleMute()
      else if (key === 'c') this.cycleCaptions()
      else return
      e.preventDefault()
      this.wake()
    })
  }

  // ---- delivery ----

  /** boot starts WebTorrent, with the keys of the gated files the viewer opened; any failure on the way means /stream. */
  private boot (): void {
    const { base, torrentURL, publicHost, iceServers, deadline, bundle } = this.data
    // The keys of the gated files the viewer opened: WebTorrent then
    // hands the video their ranges decrypted (decrypt.ts).
    const gated = bundle != null && this.data.files.some(f => f.gate != null && f.gate !== 'free' && f.locked !== true)
    const starting = Promise.all([
      P2P.start(base, torrentURL, publicHost, iceServers, deadline),
      gated ? fetchKeys(base, bundle) : Promise.resolve(null)
    ]).then(async ([p, keys]) => {
      if (keys) await p.decryptWith(keys)
      return p
    })
    timeout(starting, setupMS, `setting up took over ${setupMS / 1000} s`).then(p => {
      if (this.mode !== 'connecting' && this.mode !== 'head') return p.destroy()
      this.p2p = p
      this.addedAt = this.lastGrowth = performance.now()
      this.timer = window.setInterval(() => this.watch(), 250)
      if (this.mode === 'connecting') {
        this.mode = 'p2p'
        this.attach(this.previewing ? 0 : this.video.currentTime)
      } else {
        this.handover(p)
      }
      this.render()
    }, err => {
      this.toStream(`peer-to-peer unavailable: ${message(err)}`)
      // A start that finishes after its timeout is not wanted any more.
      starting.then(p => p.destroy(), () => {})
    })
  }

  /**
   * watch runs four times a second while WebTorrent feeds the video and
   * moves to /stream when it does not deliver: nothing at all within
   * firstByteMS of adding the torrent, or playback starved while nothing
   * arrives.
   */
  private watch (): void {
    const p = this.p2p
    if (!p) return
    this.trackDeadline()
    if (this.mode === 'head' && !this.handing) this.handover(p)
    const now = performance.now()
    if (p.failed) return this.toStream(`WebTorrent failed: ${p.failed.message}`)
    const got = p.received
    if (got > this.lastReceived) {
      this.lastReceived = got
      this.lastGrowth = now
    }
    if (got === 0) {
      if (now - this.addedAt > firstByteMS) this.toStream(`no peer delivered within ${firstByteMS / 1000} s`)
      return
    }
    const v = this.video
    // The opening stream plays on while peers start; it is paced, not
    // starved.
    if (this.mode === 'head') return
    const starving = this.wantPlay && !v.ended && v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA
    if (!starving) {
      this.starvingSince = 0
      return
    }
    if (this.starvingSince === 0) this.starvingSince = now
    const starved = now - this.starvingSince
    if ((starved > stallMS && now - this.lastGrowth > stallMS) || starved > starveMS) {
      this.toStream(`peers stopped delivering for ${Math.round(starved / 1000)} s`)
    }
  }

  /** toStream moves the video to the node's /stream, where it was. */
  private toStream (reason: string): void {
    if (this.mode === 'stream') return
    const fromHead = this.mode === 'head' && this.video.readyState >= HTMLMediaElement.HAVE_METADATA
    console.info('seedcast: streaming from the server:', reason)
    const p = this.p2p
    if (p) this.last = p.delivery()
    this.p2p = null
    this.mode = 'stream'
    this.reason = reason
    clearInterval(this.timer)
    if (!fromHead) this.attach(this.previewing ? 0 : this.video.currentTime)
    // Else the opening stream plays on: from the node already, paced at
    // one and a half times the film's bitrate past its first seconds.
    // After the switch, so the media element drops the worker's stream
    // first.
    p?.destroy()
    this.render()
  }

  /** attach points the video at the current file from the current source, at time at. */
  private attach (at: number): void {
    let url = this.file.url
    if (this.mode === 'head') url += '?head=1'
    if (this.mode === 'p2p') {
      const u = this.p2p?.url(this.file.path)
      if (!u) return this.toStream(`the torrent has no file ${this.file.path}`)
      url = u
    }
    const v = this.video
    mark(`source ${this.mode}`)
    this.previewing = false
    this.switching = true
    v.preload = 'auto'
    v.src = url
    if (at > 0) v.addEventListener('loadedmetadata', () => { v.currentTime = at }, { once: true })
    this.switching = false
    if (this.wantPlay) this.playNow()
  }

  /**
   * trackDeadline tells the deadline policy where the video plays or, while
   * the opening stream plays, where the element taking over will start.
   */
  private trackDeadline (): void {
    const v = this.video
    const head = this.mode === 'head'
    const sec = head ? v.currentTime + handoverLeadSec : v.currentTime
    this.p2p?.track(this.file.path, sec, v.duration, head)
    this.wants.track(this.file.path, this.file.length, sec, v.duration)
  }

  /**
   * handover moves the video from the node's opening stream to WebTorrent
   * without a visible hitch, once the opening stream has loaded the film's
   * header: a second element loads WebTorrent's stream, seeks a little
   * ahead of the playhead and waits there, ready; when the playhead
   * reaches it, it takes the first one's place, listeners, captions and
   * all. If it is not ready within handoverMS, the opening stream plays on
   * and the next watch tries again.
   */
  private handover (p: P2P): void {
    const url = p.url(this.file.path)
    if (!url) return this.toStream(`the torrent has no file ${this.file.path}`)
    const a = this.video
    // Another element would end picture-in-picture; the opening stream
    // plays on meanwhile.
    if (document.pictureInPictureElement === a) return
    if (a.readyState < HTMLMediaElement.HAVE_METADATA) {
      // No header from the opening stream a second after peers are ready
      // (a long film's header is long): peers may bring it as soon.
      if (performance.now() - this.addedAt < 1000) return
      this.headBytes = this.bufferedBytes()
      this.mode = 'p2p'
      this.attach(0)
      return
    }
    this.handing = true
    const b = a.cloneNode(false) as HTMLVideoElement
    b.removeAttribute('src')
    b.muted = a.muted
    b.volume = a.volume
    b.defaultPlaybackRate = a.defaultPlaybackRate
    b.playbackRate = a.playbackRate
    b.preload = 'auto'
    const file = this.file
    const started = performance.now()
    let frame = 0
    const give = (why: string) => {
      cancelAnimationFrame(frame)
      b.removeAttribute('src')
      b.load()
      this.handing = false
      console.debug('seedcast: hand-over to peers deferred:', why)
    }
    const arrive = () => {
      if (this.file !== file || this.video !== a || this.mode !== 'head') return give('the source changed')
      if (performance.now() - started > handoverMS) return give(`not ready within ${handoverMS / 1000} s`)
      const ready = !b.seeking && b.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA
      // Take over once the playhead reaches the waiting element, or at once
      // where the opening stream stalls or the viewer paused.
      if (ready && (a.currentTime >= b.currentTime - 0.04 || a.paused || a.readyState < HTMLMediaElement.HAVE_FUTURE_DATA)) {
        if (b.currentTime < a.currentTime - 0.25) b.currentTime = a.currentTime
        return this.swap(a, b)
      }
      if (ready && b.currentTime < a.currentTime) b.currentTime = Math.min(a.currentTime + handoverLeadSec, a.duration)
      frame = requestAnimationFrame(arrive)
    }
    b.addEventListener('loadedmetadata', () => {
      b.currentTime = Math.min(a.currentTime + handoverLeadSec, a.duration)
      frame = requestAnimationFrame(arrive)
    }, { once: true })
    b.addEventListener('error', () => give(`media error ${b.error?.code ?? 0}`), { once: true })
    b.src = url
  }

  /** swap puts element b, ready at the playhead, in the place of a, playing from peers. */
  private swap (a: HTMLVideoElement, b: HTMLVideoElement): void {
    this.headBytes = this.bufferedBytes()
    this.switching = true
    for (const [ev, fn] of this.videoListeners) {
      a.removeEventListener(ev, fn)
      b.addEventListener(ev, fn)
    }
    for (const t of [...a.querySelectorAll('track')]) b.append(t)
    const tracks = [...b.textTracks]
    tracks.forEach((t, i) => { t.mode = i === this.caption ? 'hidden' : 'disabled' })
    a.replaceWith(b)
    this.video = b
    if (this.wantPlay) this.playNow()
    a.pause()
    a.removeAttribute('src')
    a.load()
    this.switching = false
    this.handing = false
    this.mode = 'p2p'
    mark('source p2p')
    this.render()
  }

  private playNow (): void {
    const v = this.video
    // attach plays once there is a source (not a preview frame's).
    if (this.mode === 'idle' || this.mode === 'connecting') return
    // A gesture to play (a click on play, a key, a file picked from the
    // list) brings back the sound that an autoplay went without. Without
    // the User Activation API, play tries with sound and falls back below.
    if (this.autoMuted && navigator.userActivation?.isActive !== false) this.setMuted(false)
    v.play().catch((err: DOMException) => {
      if (err.name === 'NotAllowedError' && !v.muted) {
        // No sound without a gesture here: play muted and offer sound.
        v.muted = true
        this.autoMuted = true
        this.ui.unmute.hidden = false
        v.play().catch(() => { this.wantPlay = false; this.render() })
        return
      }
      if (err.name !== 'AbortError') console.debug('seedcast: play:', err.message)
    })
  }

  // ---- presentation ----

  /** show prepares the player for file: poster, captions, audio card. */
  private show (file: FileInfo): void {
    const v = this.video
    const audio = file.kind === 'audio'
    this.root.classList.toggle('audio', audio)
    this.ui.audio.textContent = audio ? file.name : ''
    const poster = this.data.poster >= 0 ? this.data.files[this.data.poster] : null
    this.posterSet = poster != null
    if (poster) v.poster = poster.url
    else v.removeAttribute('poster')
    // A picture of a song is its poster alone.
    this.ui.pip.hidden = !document.pictureInPictureEnabled || audio
    this.loadCaptions(file)
  }

  /**
   * previewFrame shows the first frame of the file before the player
   * starts, when the bundle has no poster, for the price of the file's
   * header and first pieces from the node's /stream.
   */
  previewFrame (): void {
    if (this.started || this.posterSet || this.file.kind !== 'video') return
    this.previewing = true
    this.video.preload = 'metadata'
    // A frame a little in: films open on black.
    this.video.src = `${this.file.url}#t=${previewAtSec}`
  }

  /**
   * capturePoster keeps the first frame that is not black as the poster,
   * so that a change of source or file never flashes black.
   */
  private capturePoster (): void {
    const v = this.video
    if (this.posterSet || this.previewing || this.file.kind !== 'video' || !v.videoWidth || v.currentTime > posterUntilSec) return
    try {
      const probe = document.createElement('canvas')
      probe.width = 32
      probe.height = 18
      const pc = probe.getContext('2d', { willReadFrequently: true })
      if (!pc) return
      pc.drawImage(v, 0, 0, probe.width, probe.height)
      const px = pc.getImageData(0, 0, probe.width, probe.height).data
      let sum = 0
      for (let i = 0; i < px.length; i += 4) sum += 0.2126 * px[i] + 0.7152 * px[i + 1] + 0.0722 * px[i + 2]
      if (sum / (px.length / 4) < blackLuma) return // a fade from black: wait for a later frame
      const c = document.createElement('canvas')
      c.width = Math.min(960, v.videoWidth)
      c.height = Math.round(v.videoHeight * c.width / v.videoWidth)
      c.getContext('2d')?.drawImage(v, 0, 0, c.width, c.height)
      v.poster = c.toDataURL('image/jpeg', 0.85)
      this.posterSet = true
    } catch (err) {
      this.posterSet = true // a tainted canvas stays tainted
      console.debug('seedcast: capturing a poster frame:', message(err))
    }
  }

  private loadCaptions (file: FileInfo): void {
    const v = this.video
    for (const t of [...v.querySelectorAll('track')]) t.remove()
    for (const u of this.blobURLs) URL.revokeObjectURL(u)
    this.blobURLs = []
    const caps = (file.captions ?? []).map(i => this.data.files[i])
    this.caption = -1
    this.drawCues()
    this.ui.cc.hidden = caps.length === 0
    this.ui.cc.classList.remove('on')
    // SubRip is converted in the page; the tracks go in in the bundle's
    // order once all are ready, so that c steps through them in that order.
    Promise.all(caps.map(async c => {
      if (!c.name.toLowerCase().endsWith('.srt')) return c.url
      try {
        const res = await fetch(c.url)
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
        const u = URL.createObjectURL(new Blob([srtToVTT(await res.text())], { type: 'text/vtt' }))
        this.blobURLs.push(u)
        return u
      } catch (err) {
        console.warn(`seedcast: captions ${c.name}:`, message(err))
        return ''
      }
    })).then(srcs => {
      if (this.file !== file) return
      caps.forEach((c, i) => {
        if (!srcs[i]) return
        const t = document.createElement('track')
        t.kind = 'subtitles'
        t.src = srcs[i]
        t.label = (c.lang && languageName(c.lang)) || (c.name.split('/').pop() ?? c.name)
        if (c.lang) t.srclang = c.lang
        v.append(t)
        t.track.mode = 'disabled'
        t.track.addEventListener('cuechange', () => this.drawCues())
      })
    })
  }

  private bindVideo (): void {
    const on = (ev: string, fn: () => void) => this.onVideo(ev, fn)
    const r = () => this.render()
    for (const ev of ['playing', 'waiting', 'seeking', 'seeked', 'canplay', 'loadedmetadata', 'durationchange', 'ended', 'volumechange', 'ratechange', 'stalled', 'enterpictureinpicture', 'leavepictureinpicture']) {
      on(ev, r)
    }
    on('timeupdate', () => {
      this.renderTime()
      this.capturePoster()
    })
    on('progress', () => this.renderTime())
    on('loadeddata', () => this.capturePoster())
    on('play', () => {
      this.wantPlay = true
      // The controls fade once the film plays, as after a move of the mouse.
      this.wake()
      r()
    })
    // The node's window follows a seek, and the duration once known, at
    // once rather than at the next watch.
    for (const ev of ['seeking', 'durationchange']) on(ev, () => this.trackDeadline())
    on('playing', () => {
      if (this.played) return
      this.played = true
      mark('playing')
    })
    on('pause', () => {
      const v = this.video
      if (!this.switching && !v.ended && v.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) this.wantPlay = false
      r()
    })
    on('error', () => {
      const code = this.video.error?.code ?? 0
      if (this.mode === 'p2p') return this.toStream(`the peer-to-peer stream failed (media error ${code})`)
      if (this.mode === 'head') return this.toStream(`the opening stream failed (media error ${code})`)
      if (!this.started || this.previewing) return // a preview frame that did not load
      this.error = code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED
        ? 'This browser cannot play this file. Download it to watch.'
        : 'The video could not be loaded from this node.'
      r()
    })
    on('click', () => {
      if (this.tapWakes) this.tapWakes = false
      else this.toggle()
    })
    // A double tap is two taps: the second may pause, neither goes full screen.
    on('dblclick', () => { if (this.pointer !== 'touch') this.toggleFullscreen() })
  }

  private bindControls (): void {
    const { bigplay, play, mute, volume, pip, fs, unmute, scrub } = this.ui
    bigplay.addEventListener('click', () => this.toggle())
    play.addEventListener('click', () => this.toggle())
    mute.addEventListener('click', () => this.toggleMute())
    volume.addEventListener('input', () => this.setVolume(volume.valueAsNumber))
    pip.addEventListener('click', () => this.togglePictureInPicture())
    fs.addEventListener('click', () => this.toggleFullscreen())
    unmute.addEventListener('click', () => this.setMuted(false))
    document.addEventListener('fullscreenchange', () => {
      this.root.classList.toggle('fullscreen', document.fullscreenElement === this.root)
    })

    const at = (e: PointerEvent) => {
      const box = scrub.getBoundingClientRect()
      return Math.max(0, Math.min(1, (e.clientX - box.left) / box.width))
    }
    scrub.addEventListener('pointerdown', e => {
      if (!Number.isFinite(this.video.duration)) return
      this.scrubbing = true
      scrub.setPointerCapture(e.pointerId)
      this.preview(at(e))
    })
    scrub.addEventListener('pointermove', e => {
      if (Number.isFinite(this.video.duration)) this.preview(at(e))
    })
    scrub.addEventListener('pointerup', e => {
      if (!this.scrubbing) return
      this.scrubbing = false
      this.seek(at(e) * this.video.duration)
    })
    scrub.addEventListener('pointerleave', () => { if (!this.scrubbing) this.ui.tip.hidden = true })
    scrub.addEventListener('pointercancel', () => { this.scrubbing = false })
    // The arrows seek by the document's keys; Home and End go to the ends.
    scrub.addEventListener('keydown', e => {
      if (e.key === 'Home') this.seek(0)
      else if (e.key === 'End') this.seek(this.video.duration)
      else return
      e.preventDefault()
      this.wake()
    })

    this.root.addEventListener('pointermove', () => this.wake())
    this.root.addEventListener('pointerdown', e => {
      // A finger has no hover to bring the faded controls back: its first
      // tap does, and the next one on the video pauses.
      this.pointer = e.pointerType
      this.tapWakes = e.pointerType === 'touch' && this.root.classList.contains('idle')
      this.wake()
    })
  }

  /** preview shows the time under the pointer on the scrub bar, and the position while dragging. */
  private preview (frac: number): void {
    const { tip, played } = this.ui
    tip.hidden = false
    tip.textContent = clock(frac * this.video.duration)
    tip.style.left = `${frac * 100}%`
    if (this.scrubbing) played.style.width = `${frac * 100}%`
  }

  /** wake shows the controls, and hides them again after idleMS while playing. */
  private wake (): void {
    this.root.classList.remove('idle')
    clearTimeout(this.idleTimer)
    this.idleTimer = window.setTimeout(() => {
      if (!this.video.paused && !this.scrubbing && !this.menus.some(m => m.isOpen)) this.root.classList.add('idle')
    }, idleMS)
  }

  private flash (text: string): void {
    const t = this.ui.toast
    t.textContent = text
    t.classList.add('on')
    clearTimeout(this.toastTimer)
    this.toastTimer = window.setTimeout(() => t.classList.remove('on'), 1200)
  }

  private state (): State {
    const v = this.video
    if (this.error) return 'error'
    if (!this.started) return 'idle'
    if (v.ended) return 'ended'
    if (!this.wantPlay) return 'paused'
    if (this.mode === 'connecting' || v.paused || v.seeking || v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) return 'buffering'
    return 'playing'
  }

  private render (): void {
    const s = this.state()
    const root = this.root
    root.dataset.state = s
    root.dataset.mode = this.mode
    const playing = s === 'playing' || s === 'buffering'
    this.ui.play.setAttribute('aria-label', playing ? 'Pause (k)' : 'Play (k)')
    this.ui.play.classList.toggle('on', playing)
    const v = this.video
    this.ui.mute.classList.toggle('on', v.muted)
    this.ui.mute.setAttribute('aria-label', v.muted ? 'Unmute (m)' : 'Mute (m)')
    const vol = v.muted ? 0 : v.volume
    this.ui.volume.value = String(vol)
    this.ui.volume.style.setProperty('--fill', `${vol * 100}%`)
    this.ui.volume.setAttribute('aria-valuetext', v.muted ? 'Muted' : `${Math.round(vol * 100)} %`)
    this.ui.rate.textContent = `${v.playbackRate}×`
    this.ui.speed.setAttribute('aria-label', `Speed: ${v.playbackRate}×`)
    this.ui.pip.setAttribute('aria-pressed', String(document.pictureInPictureElement === v))
    let msg = ''
    if (s === 'error') msg = this.error
    else if (s === 'buffering') msg = this.mode === 'connecting' ? 'Finding peers…' : 'Waiting for the network…'
    this.ui.message.textContent = msg
    this.renderSource()
    this.renderTime()
    if (!playing) root.classList.remove('idle')
  }

  /** renderSource labels where the bytes come from. */
  renderSource (): void {
    const src = this.ui.source
    const st = this.stats()
    switch (this.mode) {
      case 'p2p':
        src.textContent = st.peers > 0 ? `P2P · ${st.peers}` : 'P2P'
        src.title = `Peer-to-peer: ${st.peers} connection${st.peers === 1 ? '' : 's'}`
        break
      case 'stream':
        src.textContent = 'Direct'
        src.title = `Streaming from the server: ${this.reason}`
        break
      case 'connecting':
      case 'head':
        src.textContent = 'Connecting'
        src.title = 'Finding peers; meanwhile playing from the server'
        break
      default:
        src.textContent = ''
        src.title = ''
    }
  }

  private renderTime (): void {
    const v = this.video
    const d = Number.isFinite(v.duration) ? v.duration : 0
    const t = v.currentTime
    this.ui.cur.textContent = clock(t)
    this.ui.dur.textContent = clock(d)
    this.ui.scrub.setAttribute('aria-valuemax', String(Math.round(d)))
    this.ui.scrub.setAttribute('aria-valuenow', String(Math.round(t)))
    this.ui.scrub.setAttribute('aria-valuetext', `${clock(t)} of ${clock(d)}`)
    if (d <= 0) return
    if (!this.scrubbing) this.ui.played.style.width = `${(t / d) * 100}%`
    const b = v.buffered
    let start = 0
    let end = 0
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.5 && b.end(i) >= t) {
        start = b.start(i)
        end = b.end(i)
        break
      }
    }
    this.ui.buffered.style.left = `${(start / d) * 100}%`
    this.ui.buffered.style.width = `${((end - start) / d) * 100}%`
  }
}

/** fetchKeys fetches the keys of the gated files of bundle the viewer opened, by path. */
async function fetchKeys (base: string, bundle: string): Promise<Record<string, FileKeyJSON>> {
  const res = await fetch(`${base}/api/bundles/${bundle}/keys`, { headers: { Accept: 'application/json' }, cache: 'no-store' })
  if (!res.ok) throw new Error(`the keys of bundle ${bundle}: ${res.status} ${res.statusText}`)
  const kf = await res.json() as { files?: Record<string, FileKeyJSON> }
  return kf.files ?? {}
}

// Entry of the library page (/): live peer counts from /api/torrents,
// copy buttons, and frames of the films as their cards scroll into view.
import { bindCopyButtons } from './copy'
import { bytes } from './format'

/** pollMS is how often the page asks the node for its figures. */
const pollMS = 4000

interface APITransport {
  peers: number
}

interface APIOffload {
  node_to_viewers: number
  viewers_to_viewers: number
  viewer_share: number
}

interface APITorrent {
  infohash: string
  length: number
  bytes_completed: number
  progress: number
  seeding: boolean
  transports?: Record<string, APITransport>
  offload?: APIOffload
}

/** carried says what viewers carried of what they got, as web/pages.go's carried does. */
function carried (o: APIOffload | undefined): string {
  const all = o ? o.node_to_viewers + o.viewers_to_viewers : 0
  if (!o || all <= 0) return ''
  return `viewers carried ${Math.floor(o.viewer_share * 100)} % of ${bytes(all)}`
}

function set (card: Element, name: string, text: string): void {
  const el = card.querySelector<HTMLElement>(`[data-live="${name}"]`)
  if (el) el.textContent = text
}

async function poll (): Promise<void> {
  const base = document.body.dataset.base ?? ''
  try {
    const res = await fetch(`${base}/api/torrents`, { cache: 'no-store' })
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
    const list = await res.json() as APITorrent[]
    for (const t of list) {
      const card = document.querySelector(`[data-ih="${t.infohash}"]`)
      if (!card) continue
      let peers = 0
      for (const tr of Object.values(t.transports ?? {})) peers += tr.peers ?? 0
      set(card, 'peers', peers === 1 ? '1 peer' : `${peers} peers`)
      card.classList.toggle('live', peers > 0)
      set(card, 'offload', carried(t.offload))
      set(card, 'progress', t.seeding || t.length === 0 ? '' : `${Math.floor(t.progress * 100)} % · ${bytes(t.bytes_completed)} here`)
    }
    document.body.classList.remove('offline')
  } catch (err) {
    document.body.classList.add('offline')
    console.debug('seedcast: polling /api/torrents:', err)
  }
}

/** lazyFrames loads the first frame of each card's film once the card is near the viewport. */
function lazyFrames (): void {
  const load = (v: HTMLVideoElement) => {
    if (!v.dataset.src) return
    v.preload = 'metadata'
    v.src = v.dataset.src
    delete v.dataset.src
    v.addEventListener('loadeddata', () => v.classList.add('ready'), { once: true })
  }
  const frames = document.querySelectorAll<HTMLVideoElement>('video[data-src]')
  if (!('IntersectionObserver' in window)) {
    frames.forEach(load)
    return
  }
  const io = new IntersectionObserver(entries => {
    for (const e of entries) {
      if (!e.isIntersecting) continue
      io.unobserve(e.target)
      load(e.target as HTMLVideoElement)
    }
  }, { rootMargin: '200px' })
  frames.forEach(v => io.observe(v))
}

bindCopyButtons(document)
lazyFrames()
poll()
setInterval(poll, pollMS)

// SubRip (.srt) captions to WebVTT, which is all that <track> reads.

const timing = /^\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})/

function stamp (h: string, m: string, s: string, ms: string): string {
  return `${h.padStart(2, '0')}:${m.padStart(2, '0')}:${s.padStart(2, '0')}.${ms.padEnd(3, '0')}`
}

/**
 * srtToVTT converts SubRip text to WebVTT. Each cue keeps its timing and
 * text; cue numbers and SubRip's position coordinates are dropped, and
 * blocks without a timing line are skipped rather than failing the rest.
 */
export function srtToVTT (srt: string): string {
  const text = srt.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')
  const cues: string[] = []
  for (const block of text.split(/\n[ \t]*\n/)) {
    const lines = block.split('\n').filter((l, i, all) => i < all.length - 1 || l.trim() !== '')
    while (lines.length > 0 && lines[0].trim() === '') lines.shift()
    const at = lines.findIndex(l => timing.test(l))
    if (at < 0 || at > 1) continue
    const m = timing.exec(lines[at])!
    // "-->" may not appear in a WebVTT cue's text.
    const body = lines.slice(at + 1).map(l => l.replaceAll('-->', '→')).join('\n').trim()
    if (body === '') continue
    cues.push(`${stamp(m[1], m[2], m[3], m[4])} --> ${stamp(m[5], m[6], m[7], m[8])}\n${body}`)
  }
  return `WEBVTT\n\n${cues.join('\n\n')}\n`
}

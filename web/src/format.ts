// Formatting of sizes, rates and times for people.

const units = ['B', 'kB', 'MB', 'GB', 'TB']

/** bytes formats a byte count in SI units: "0 B", "812 kB", "3.9 MB". */
export function bytes (n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–'
  let i = 0
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000
    i++
  }
  const digits = i === 0 || n >= 100 ? 0 : 1
  return `${n.toFixed(digits)} ${units[i]}`
}

/** rate formats bytes per second. */
export function rate (n: number): string {
  return `${bytes(n)}/s`
}

/** clock formats seconds as m:ss, or h:mm:ss from an hour on. */
export function clock (sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) sec = 0
  const s = Math.floor(sec % 60)
  const m = Math.floor(sec / 60) % 60
  const h = Math.floor(sec / 3600)
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/**
 * A progress bar for long commands, on stderr and only when stderr is a terminal: piped output,
 * CI logs and tests stay silent. Redrawn at most every 100 ms, so calling `update` per batch costs
 * nothing. With a total it draws a bar, the share, the rate and the time left; without one (or
 * before it is known), the count and the rate.
 */
export interface Progress {
  /** False when nothing is drawn (not a terminal): callers can skip work done only for the bar. */
  readonly active: boolean
  /** How far along; `total` when it becomes known or changes (a mesh's inputs grow as it runs). */
  update(done: number, total?: number): void
  /** Clears the line; with text, leaves it as the final line. */
  done(text?: string): void
}

export interface ProgressOptions {
  total?: number
  /** What is counted, e.g. 'records' or 'bytes' (bytes print as KiB/MiB). */
  unit?: string
  /** Default process.stderr; anything with `isTTY` and `write`. */
  stream?: { isTTY?: boolean; columns?: number; write(text: string): unknown }
  now?: () => number
}

const WIDTH = 24
const silent: Progress = { active: false, update() {}, done() {} }

export function progressBar(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  if (!stream.isTTY) return silent
  const now = options.now ?? Date.now
  const unit = options.unit ?? 'records'
  const started = now()
  let total = options.total
  let last = 0
  let shown = false
  return {
    active: true,
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal
      const t = now()
      if (t - last < 100) return
      last = t
      shown = true
      const line = formatProgress(label, done, total, (t - started) / 1000, unit)
      stream.write(`\r\x1b[2K${stream.columns ? line.slice(0, stream.columns - 1) : line}`)
    },
    done(text) {
      if (shown || text) stream.write(`\r\x1b[2K${text ? `${label} ${text}\n` : ''}`)
    },
  }
}

/** One line of progress, e.g. `processing [#########...............] 38% 38,000/100,000 records 12.5k/s 5s left`. */
export function formatProgress(label: string, done: number, total: number | undefined, seconds: number, unit = 'records'): string {
  const rate = seconds > 0 ? done / seconds : 0
  const amount = (n: number) => (unit === 'bytes' ? bytes(n) : n.toLocaleString('en-US'))
  const speed = `${unit === 'bytes' ? `${bytes(rate)}/s` : `${compact(rate)}/s`}`
  if (total === undefined || total <= 0) return `${label} ${amount(done)} ${unit === 'bytes' ? '' : `${unit} `}${speed}`.replace(/\s+/g, ' ')
  const share = Math.min(1, done / total)
  const filled = Math.round(share * WIDTH)
  const left = rate > 0 && done < total ? ` ${duration((total - done) / rate)} left` : ''
  const counted = unit === 'bytes' ? `${amount(done)}/${amount(total)}` : `${amount(done)}/${amount(total)} ${unit}`
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(share * 100)}% ${counted} ${speed}${left}`
}

const compact = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0))

const bytes = (n: number): string => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1 << 10 ? `${(n / 1024).toFixed(1)} KiB` : `${n.toFixed(0)} B`)

const duration = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.ceil(s)}s`)

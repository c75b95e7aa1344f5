import { maxOf } from '../util/arrays.ts'

/**
 * What commands print. stdout carries results (tables, JSON); logs go to stderr through pino, so
 * `--format json` output can be piped.
 */
export const print = (text = ''): void => {
  process.stdout.write(`${text}\n`)
}

export const printJson = (value: unknown): void => print(JSON.stringify(value, jsonReplacer, 2))

/** Buffers as base64, bigints as strings: JSON that any reader can parse. */
export function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data))
    return Buffer.from((value as { data: number[] }).data).toString('base64')
  return value
}

export const toJsonLine = (value: unknown): string => JSON.stringify(value, jsonReplacer)

/** A plain aligned table; numbers right-aligned. */
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)'
  const cols = columns ?? Object.keys(rows[0]!)
  const cells = rows.map((r) => cols.map((c) => cell(r[c])))
  const widths = cols.map((c, i) => Math.max(c.length, maxOf(cells.map((row) => row[i]!.length))))
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] === undefined || r[c] === null))
  const line = (values: string[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

const cell = (v: unknown): string => (v === undefined || v === null ? '-' : typeof v === 'object' ? toJsonLine(v) : String(v))

/** A one-line progress indicator on a terminal; silent otherwise. */
export function progress(label: string): { update(text: string): void; done(text?: string): void } {
  const tty = process.stderr.isTTY
  let last = 0
  return {
    update(text) {
      if (!tty || Date.now() - last < 100) return
      last = Date.now()
      process.stderr.write(`\r\x1b[2K${label} ${text}`)
    },
    done(text) {
      if (tty) process.stderr.write(`\r\x1b[2K${text ? `${label} ${text}\n` : ''}`)
    },
  }
}

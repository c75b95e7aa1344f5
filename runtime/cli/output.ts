import { writeJson } from '../codec/json/write.ts'
import { maxOf } from '../util/arrays.ts'

/**
 * What commands print. stdout carries results (tables, JSON); logs go to stderr through pino, so
 * `--format json` output can be piped. JSON is the codec's writer: every int64 exact, -0.0 kept,
 * bytes in base64, NaN and the infinities as strings (runtime/codec/VALUES.md).
 */
export const print = (text = ''): void => {
  process.stdout.write(`${text}\n`)
}

export const printJson = (value: unknown): void => print(writeJson(value, 2))

export const toJsonLine = (value: unknown): string => writeJson(value)

/** A plain aligned table; numbers right-aligned. */
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)'
  const cols = columns ?? Object.keys(rows[0]!)
  const cells = rows.map((r) => cols.map((c) => cell(r[c])))
  const widths = cols.map((c, i) => Math.max(c.length, maxOf(cells.map((row) => row[i]!.length))))
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || typeof r[c] === 'bigint' || r[c] === undefined || r[c] === null))
  const line = (values: string[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

const cell = (v: unknown): string => (v === undefined || v === null ? '-' : cellText(v))

/**
 * A value as one cell of a table or CSV: strings as they are, bytes in base64, -0 as `-0.0` (String
 * writes `0`), other scalars as String does (bigints with every digit, `NaN`, `Infinity`), nested
 * values as one line of the codec's JSON (runtime/codec/VALUES.md).
 */
export function cellText(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
  if (typeof v === 'object' && v !== null) return writeJson(v)
  return Object.is(v, -0) ? '-0.0' : String(v)
}

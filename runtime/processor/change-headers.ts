import type { Headers } from '../log/log.ts'

/**
 * What an output record says beyond "a row" or "a tombstone for a key", in two headers that the
 * encoder writes and every reader of output topics honours (the snapshot compactor, table-mode
 * ports):
 * - `tributary.op: truncate` (no key, no value): the port's table is emptied;
 * - `tributary.unavailable: a,b` on a row: the values of fields a and b are unknown (null in the
 *   row) and the stored ones are kept, as for Debezium's unchanged TOASTed columns.
 */
export const OP_HEADER = 'tributary.op'
export const UNAVAILABLE_HEADER = 'tributary.unavailable'
const TRUNCATE = Buffer.from('truncate')

export const isTruncate = (headers: Readonly<Headers> | undefined): boolean => headers?.[OP_HEADER]?.equals(TRUNCATE) ?? false

/** The unavailable fields a record names, or undefined when none. */
export function unavailableOf(headers: Readonly<Headers> | undefined): ReadonlySet<string> | undefined {
  const h = headers?.[UNAVAILABLE_HEADER]
  if (h === undefined || h.length === 0) return undefined
  return new Set(h.toString('utf8').split(','))
}

export const truncateHeaders = (): Headers => ({ [OP_HEADER]: Buffer.from(TRUNCATE) })

export const unavailableHeader = (fields: Iterable<string>): Buffer => Buffer.from([...fields].join(','))

/** A row with the unavailable fields taken from the stored one (kept null when nothing is stored). */
export function keepUnavailable(row: Record<string, unknown>, unavailable: ReadonlySet<string>, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const merged = { ...row }
  for (const field of unavailable) merged[field] = stored?.[field] ?? null
  return merged
}

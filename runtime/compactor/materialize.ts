import { TributaryError } from '../errors.ts'
import { keyText } from '../codec/key.ts'
import type { Headers } from '../log/log.ts'
import { isTruncate, keepUnavailable, unavailableOf } from '../log/change-headers.ts'
import type { SnapshotTarget } from './targets.ts'

type Row = Record<string, unknown>

/**
 * The key of a record in an upsert table, as text: from its row (through the port's key extractor),
 * or from its decoded message key for a tombstone. The compactor and `tributary test` both use it,
 * so they agree on which row a record replaces or deletes.
 */
export function upsertKey(keyFields: readonly string[], keyOf: (row: Row) => unknown, row: Row | null, messageKey: () => unknown): string {
  const k = row !== null ? keyOf(row) : messageKey()
  if (k === null || k === undefined) throw new TributaryError('TRIB_DECODE_ENVELOPE', 'a tombstone without a key cannot delete a row')
  return indexKey(keyFields, k)
}

/** The canonical key text (codec/key.ts) of a key value: one field's value, or the struct of several. */
export const indexKey = (keyFields: readonly string[], k: unknown): string => keyText(keyFields.length === 1 ? [k] : Object.values(k as Row))

/**
 * The rows a table holds after a port's records, without Parquet or a lake, as the compactor
 * materialises them: append keeps every row; upsert the last row per key, a tombstone deletes its
 * key, a truncate marker empties the table (unless `truncate: ignore`), and fields a record names
 * unavailable keep the value stored for the key. Rows come in first-seen key order.
 */
export function materialize(
  target: Pick<SnapshotTarget, 'mode' | 'keyFields' | 'truncate'>,
  keyOf: (row: Row) => unknown,
  records: Iterable<{ key: unknown; value: Row | null; headers?: Readonly<Headers> }>,
): Row[] {
  if (target.mode === 'append') return [...records].flatMap((r) => (r.value === null || isTruncate(r.headers) ? [] : [r.value]))
  const rows = new Map<string, Row | null>()
  for (const r of records) {
    if (isTruncate(r.headers)) {
      if (target.truncate !== 'ignore') rows.clear()
      continue
    }
    const key = upsertKey(target.keyFields, keyOf, r.value, () => r.key)
    const unavailable = unavailableOf(r.headers)
    rows.set(key, r.value !== null && unavailable ? keepUnavailable(r.value, unavailable, rows.get(key) ?? undefined) : r.value)
  }
  return [...rows.values()].filter((r): r is Row => r !== null)
}

import { TributaryError } from '../errors.ts'
import { keyString } from './key-index.ts'

type Row = Record<string, unknown>

/**
 * The key of a record in an upsert table, as text: from its row (through the port's key extractor),
 * or from its decoded message key for a tombstone. The compactor and `tributary test` both use it,
 * so they agree on which row a record replaces or deletes.
 */
export function upsertKey(keyFields: readonly string[], keyOf: (row: Row) => unknown, row: Row | null, messageKey: () => unknown): string {
  const k = row !== null ? keyOf(row) : messageKey()
  if (k === null || k === undefined) throw new TributaryError('TRIB_DECODE_ENVELOPE', 'a tombstone without a key cannot delete a row')
  return keyText(keyFields, k)
}

/** The index key of a key value: one field's value, or the struct of several. */
export const keyText = (keyFields: readonly string[], k: unknown): string => keyString(keyFields.length === 1 ? [k] : Object.values(k as Row))

/**
 * The rows a table holds after a port's records, without Parquet or a lake: append keeps every row,
 * upsert the last row per key, and a tombstone deletes its key. Rows come in first-seen key order.
 */
export function materialize(
  mode: 'upsert' | 'append',
  keyFields: readonly string[],
  keyOf: (row: Row) => unknown,
  records: Iterable<{ key: unknown; value: Row | null }>,
): Row[] {
  if (mode === 'append') return [...records].flatMap((r) => (r.value === null ? [] : [r.value]))
  const rows = new Map<string, Row | null>()
  for (const r of records) rows.set(upsertKey(keyFields, keyOf, r.value, () => r.key), r.value)
  return [...rows.values()].filter((r): r is Row => r !== null)
}

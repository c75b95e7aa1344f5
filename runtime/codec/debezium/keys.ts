/**
 * Debezium message keys and tombstones.
 *
 * A Debezium key is a struct of the table's primary-key columns (`<topic>.Key`), written like the
 * value: JSON with or without the `{schema, payload}` wrapper, or Avro. Tables without a primary
 * key get null keys.
 *
 * Tombstones (DESIGN.md, CDC semantics): after a delete, Debezium writes the same key with a null
 * value so that log compaction can drop the key. A tombstone carries no change: for a stream
 * (event) input it is a no-op; for a table input (lookups, snapshot materialization) it is a
 * delete of the key, which makes replaying a compacted topic, where only the tombstone survived,
 * converge to the same table.
 */
import { envelopeError } from './envelope.ts'
import { convertWrapped, isSchemaWrapper, parseJsonText } from './json.ts'
import { stringifyExact } from '../json/exact.ts'
import type { ChangeEvent, RecordRef } from './types.ts'

/** A Kafka record value that is null (or absent) is a tombstone. An empty buffer is not: it is a value. */
export const isTombstone = (value: unknown): value is null | undefined => value === null || value === undefined

/**
 * The canonical key from a message key: JSON bytes/text (wrapped: converted with its Connect
 * schema; bare: as given), or an already decoded value (Avro keys: decode them first and convert
 * them with compileAvroValue) which is returned as is. Empty or absent keys give null. Key bytes
 * that are not JSON are taken as a plain string key (StringConverter).
 */
export function keyFromMessage(keyValue: unknown, at?: RecordRef): unknown {
  if (keyValue === null || keyValue === undefined) return null
  let value: unknown = keyValue
  if (typeof keyValue === 'string' || keyValue instanceof Uint8Array) {
    const buf = typeof keyValue === 'string' ? null : Buffer.from(keyValue.buffer, keyValue.byteOffset, keyValue.length)
    if (buf !== null && buf.length === 0) return null
    if (buf !== null && buf[0] === 0 && buf.length >= 5) {
      throw envelopeError(at, 'message key is in the Confluent Avro frame; decode it with the registry before reading the key')
    }
    try {
      value = parseJsonText(buf ?? (keyValue as string), at)
    } catch {
      return buf === null ? keyValue : buf.toString('utf8')
    }
  }
  return isSchemaWrapper(value) ? convertWrapped(value, at) : value
}

/**
 * The key of a change event: the message key when there is one; otherwise taken from the row —
 * `before` for deletes, `after` for the rest — restricted to `keyFields` when they are known. With
 * neither a message key nor key fields (a table without primary key), the whole row is its only
 * identity. Truncates have no key (null).
 */
export function keyOf(event: ChangeEvent, messageKey: unknown, keyFields?: readonly string[], at?: RecordRef): unknown {
  const fromMessage = keyFromMessage(messageKey, at)
  if (fromMessage !== null) return fromMessage
  const row = event.op === 'd' ? event.before : (event.after ?? event.before)
  if (row === null) return null
  if (keyFields === undefined || keyFields.length === 0) return row
  const key: Record<string, unknown> = {}
  for (const f of keyFields) key[f] = row[f] ?? null
  return key
}

/**
 * The one string that identifies a key in state stores, lookups and snapshot upserts:
 * - a record with one field -> that field's value as below (so {id: 42} and 42 agree: '42');
 * - a primitive -> String(value) (bigints as digits, null -> 'null');
 * - bytes -> base64;
 * - a record with several fields -> JSON of the record with fields in declared order (the order
 *   the decoder produced them; bytes as base64, bigints as bare digits), e.g. '{"tenant":"a","id":7}'.
 * Nested values (arrays, records) inside a single-field key are written as JSON the same way.
 */
export function canonicalKeyString(key: unknown): string {
  if (key !== null && typeof key === 'object' && !Buffer.isBuffer(key) && !Array.isArray(key) && !(key instanceof Date)) {
    const fields = Object.keys(key)
    if (fields.length === 1) return scalar((key as Record<string, unknown>)[fields[0]!])
    return stringifyExact(key)
  }
  return scalar(key)
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Buffer.isBuffer(v)) return v.toString('base64')
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'object') return stringifyExact(v)
  return String(v)
}

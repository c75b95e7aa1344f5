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
import { compileConnect } from './connect-schema.ts'
import { envelopeError } from './envelope.ts'
import { isSchemaWrapper, parseJsonText } from './connect-json.ts'
import { FieldError, type ChangeEvent, type RecordRef } from './types.ts'
import { isUtf8 } from '../values/utf8.ts'

/** A Kafka record value that is null (or absent) is a tombstone. An empty buffer is not: it is a value. */
export const isTombstone = (value: unknown): value is null | undefined => value === null || value === undefined

type Wrapper = { schema: Record<string, unknown>; payload: unknown }

/** A wrapped key converted with its Connect schema, compiled each time (JsonChangeReader caches it). */
function convertOnce(wrapper: Wrapper, at?: RecordRef): unknown {
  if (wrapper.payload == null) return null
  try {
    const convert = compileConnect(wrapper.schema, '')
    return convert === undefined ? wrapper.payload : convert(wrapper.payload)
  } catch (e) {
    if (e instanceof FieldError) throw envelopeError(at, `key field ${e.message}`, e.path, e)
    throw e
  }
}

/**
 * The canonical key from a message key: JSON bytes/text (wrapped: converted with its Connect
 * schema; bare: as given), or an already decoded value (Avro keys: decode them first and convert
 * them with compileAvroValue) which is returned as is. Empty or absent keys give null. Key bytes
 * that are not JSON are taken as a plain string key (StringConverter), or as bytes when they are not
 * UTF-8. `convertWrapped` is the
 * caller's cached conversion of wrapped keys (see JsonChangeReader.key).
 */
export function keyFromMessage(keyValue: unknown, at?: RecordRef, convertWrapped: (wrapper: Wrapper, at?: RecordRef) => unknown = convertOnce): unknown {
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
      // Not JSON: text when it is UTF-8, else the bytes themselves (text would change them).
      return buf === null ? keyValue : isUtf8(buf) ? buf.toString('utf8') : buf
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

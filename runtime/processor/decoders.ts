import type { Type } from 'avsc'
import { compileFastChange, type FastChange } from '../codec/debezium/avro-fast.ts'
import { compileAvroChange, parseJsonChange, type AvroChangeCodec, type ChangeEvent } from '../codec/debezium/index.ts'
import type { LogRecord } from '../log/log.ts'
import type { InputPort } from '../product/load.ts'
import { compileConformer, type Conformer } from '../codec/types/conform.ts'
import { planRow, type WriterField } from '../codec/types/conform-plan.ts'
import { createType } from '../codec/types/logical-types.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { HEADER_SIZE, frameSchemaId, peekSchemaId } from '../codec/avro/wire.ts'
import { TributaryError, messageOf } from '../errors.ts'
import type { Decoded, PortDecoder } from './decode.ts'
import { hasUnavailable } from '../codec/debezium/unavailable.ts'

type Row = Record<string, unknown>

/**
 * The decoder for an input port, by format and envelope:
 * - avro: writer schema from the frame's id, resolved to the port's reader schema by Avro rules;
 * - avro + debezium: the envelope decoded with its writer schema, Debezium types converted to
 *   canonical values, the row conformed to the reader schema (by the generated fast path when it
 *   takes the record, see avro-fast.ts; else step by step, which also reports every error);
 * - json (+ debezium): parsed, envelope unpacked, conformed to the reader schema.
 */
export function decoderFor(port: InputPort, serde: Serde): PortDecoder {
  const readerType = port.schema ? createType(port.schema.schema) : undefined
  const conformRow: (row: Row) => Row = readerType ? (compileConformer(readerType) as (row: Row) => Row) : (row) => row
  const { format, envelope } = port.spec
  const decodeKey = format === 'avro' ? avroKey(serde) : jsonKey

  const schemaIds = (record: LogRecord, into: Set<number>) => {
    if (format !== 'avro') return
    const v = record.value && peekSchemaId(record.value)
    if (v !== undefined && v !== null) into.add(v)
    const k = record.key && peekSchemaId(record.key)
    if (k !== undefined && k !== null) into.add(k)
  }

  const fromChange = (e: ChangeEvent, key: unknown): Decoded => {
    if (e.op === 't') return { key, value: {}, op: 't' }
    // A delete's row is what Debezium kept of it (often only the key columns), so it is not conformed.
    if (e.op === 'd') return { key, value: e.before ?? {}, op: 'd', before: e.before }
    const d: Decoded = { key, value: conformRow(e.after!), op: e.op, before: e.before }
    if (e.unavailable) d.unavailable = e.unavailable
    return d
  }

  let decodeValue: (r: LogRecord, key: unknown) => Decoded
  if (format === 'avro' && envelope === 'debezium') {
    const codecs = new Map<number, { exact: AvroChangeCodec; fast: FastChange | undefined }>()
    const planAfter = readerType && ((fields: WriterField[]) => planRow(readerType, fields))
    decodeValue = (r, key) => {
      const id = frameSchemaId(r.value!)
      let codec = codecs.get(id)
      if (!codec) {
        const text = serde.writerSchema(id)
        if (text === undefined) throw new TributaryError('TRIB_DECODE_UNKNOWN_SCHEMA', `schema id ${id} is not registered`, { details: { schemaId: id } })
        // Transforms get op, before and after; the source block is skipped unread.
        const writer = JSON.parse(text) as object
        codec = { exact: compileAvroChange(writer, { withSource: false }), fast: compileFastChange(writer, planAfter) }
        codecs.set(id, codec)
      }
      if (codec.fast) {
        let change: ChangeEvent | undefined
        try {
          change = codec.fast.decode(r.value!, HEADER_SIZE)
        } catch {
          // Declined: the exact path below gives the same value or the canonical error.
        }
        // A row with Debezium's placeholder takes the exact path, which takes it out before converting.
        if (change && !(change.after && hasUnavailable(change.after)))
          return codec.fast.conformed && change.after ? { key, value: change.after, op: change.op, before: change.before } : fromChange(change, key)
      }
      let change: ChangeEvent
      try {
        change = codec.exact.decode(r.value!.subarray(HEADER_SIZE), r)
      } catch (e) {
        if (e instanceof TributaryError) throw e
        throw new TributaryError('TRIB_DECODE_AVRO', `bytes do not decode with schema id ${id}: ${messageOf(e)}`, { cause: e, details: { schemaId: id } })
      }
      return fromChange(change, key)
    }
  } else if (format === 'avro') {
    decodeValue = (r, key) => ({ key, value: serde.decode(r.value!, readerType).value as Row })
  } else if (envelope === 'debezium') {
    decodeValue = (r, key) => fromChange(parseJsonChange(r.value!, r), key)
  } else {
    decodeValue = (r, key) => ({ key, value: conformRow(parseJson(r)) })
  }

  return {
    port,
    schemaIds,
    decodeKey,
    decode(record) {
      const key = decodeKey(record.key)
      if (record.value === null) return { key, value: null }
      const d = decodeValue(record, key)
      // A primary-key change: Debezium names the old key, under which the kept values are stored.
      const oldKey = d.unavailable && record.headers[OLD_KEY_HEADER]
      if (oldKey) d.previousKey = decodeKey(oldKey)
      return d
    },
  }
}

/** Debezium's header on the create event of a primary-key change: the key the row had before. */
const OLD_KEY_HEADER = '__debezium.oldkey'

function parseJson(r: LogRecord): Row {
  let v: unknown
  try {
    v = JSON.parse(r.value!.toString('utf8'))
  } catch (e) {
    throw new TributaryError('TRIB_DECODE_JSON', `value is not valid JSON: ${messageOf(e)}`, { cause: e })
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TributaryError('TRIB_VALIDATE_TYPE', `value: expected a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`)
  return v as Row
}

/** Keys are read leniently: a key that is not in the expected form is kept as text, never a dead letter. */
const avroKey =
  (serde: Serde) =>
  (key: Buffer | null): unknown => {
    if (key === null) return null
    if (peekSchemaId(key) !== undefined) {
      try {
        return serde.decode(key).value
      } catch {
        // fall through to text
      }
    }
    return key.toString('utf8')
  }

function jsonKey(key: Buffer | null): unknown {
  if (key === null) return null
  const text = key.toString('utf8')
  try {
    const v = JSON.parse(text) as unknown
    // Kafka Connect's JSON converter wraps keys as { schema, payload }.
    if (v && typeof v === 'object' && 'payload' in v && 'schema' in v) return (v as { payload: unknown }).payload
    return v
  } catch {
    return text
  }
}

export type { Type }

import type { Type } from 'avsc'
import { TributaryError, messageOf } from '../../errors.ts'
import type { LogRecord } from '../../log/log.ts'
import { avroKey, frameIds } from '../avro/decoder.ts'
import { HEADER_SIZE, frameSchemaId } from '../avro/wire.ts'
import type { Decoded, DecoderFactory, DecoderSpec } from '../codec.ts'
import { jsonKey } from '../json/decoder.ts'
import { compileConformer } from '../types/conform.ts'
import { planRow, type WriterField } from '../types/conform-plan.ts'
import { compileAvroChange, rowSchemaOf, type AvroChangeCodec } from './avro.ts'
import { compileFastChange, type FastChange } from './avro-fast.ts'
import { JsonChangeReader, localTimestampFields } from './json.ts'
import { describeRef, FieldError, type ChangeEvent } from './types.ts'
import { hasUnavailable } from './unavailable.ts'
import { ReaderEvolution } from '../types/additive.ts'
import { readerTypeOfAvro } from './reader-types.ts'

type Row = Record<string, unknown>

/**
 * A change event as the engine takes it. A delete's row is what Debezium kept of it (often only
 * the key columns), so it is not conformed; a truncate has no row.
 */
const fromChange = (e: ChangeEvent, key: unknown, conformRow: (row: Row) => Row): Decoded => {
  if (e.op === 't') return { key, value: {}, op: 't' }
  if (e.op === 'd') return { key, value: e.before ?? {}, op: 'd', before: e.before }
  const d: Decoded = { key, value: conformRow(e.after!), op: e.op, before: e.before }
  if (e.unavailable) d.unavailable = e.unavailable
  return d
}

/** Debezium's header on the create event of a primary-key change: the key the row had before. */
const OLD_KEY_HEADER = '__debezium.oldkey'

/** A row with unavailable fields after a primary-key change: the old key holds their stored values. */
function withPreviousKey(d: Decoded, record: LogRecord, decodeKey: (key: Buffer | null) => unknown): Decoded {
  const oldKey = d.unavailable && record.headers[OLD_KEY_HEADER]
  if (oldKey) d.previousKey = decodeKey(oldKey)
  return d
}

/**
 * Debezium change events in Avro (AvroConverter): the envelope decoded with its writer schema,
 * Debezium's types converted to the value model, the row conformed to the reader schema. The
 * generated decoder (avro-fast.ts) takes each record first, unless the fast paths are off; what it
 * declines the reference path decodes again (compileAvroChange, then the conformer), which gives
 * the same value or the error naming the field.
 */
export const avroDebeziumDecoder: DecoderFactory = (spec, declared, ctx, count) => {
  const evolution = evolutionOf(spec, declared)
  // Per writer schema id; this decoder (so its port and runtime) owns them.
  const codecs = new Map<number, { exact: AvroChangeCodec; fast: FastChange | undefined; conformRow: (row: Row) => Row }>()
  const codecFor = (id: number) => {
    let codec = codecs.get(id)
    if (!codec) {
      const text = ctx.serde.writerSchema(id)
      if (text === undefined) throw new TributaryError('TRIB_DECODE_UNKNOWN_SCHEMA', `schema id ${id} is not registered`, { details: { schemaId: id } })
      // Transforms get op, before and after; the source block is skipped unread.
      const writer = JSON.parse(text) as object
      const reader = evolution ? avroRowReader(evolution, writer, id) ?? declared : declared
      const local = reader ? localTimestampFields(reader) : undefined
      const planAfter = reader && ((fields: WriterField[]) => planRow(reader, fields))
      codec = {
        exact: compileAvroChange(writer, { withSource: false, ...(local ? { local } : {}) }),
        fast: ctx.fastPaths ? compileFastChange(writer, planAfter, local) : undefined,
        conformRow: reader ? (compileConformer(reader) as (row: Row) => Row) : (row) => row,
      }
      codecs.set(id, codec)
    }
    return codec
  }
  const decodeKey = (key: Buffer | null) => avroKey(ctx.serde, key)
  return {
    schemaIds: frameIds,
    decodeKey,
    decode(record) {
      const key = decodeKey(record.key)
      if (record.value === null) return { key, value: null }
      const id = frameSchemaId(record.value)
      const codec = codecFor(id)
      if (codec.fast) {
        let change: ChangeEvent | undefined
        try {
          change = codec.fast.decode(record.value, HEADER_SIZE)
        } catch {
          // Declined: the reference below gives the same value or the canonical error.
        }
        // A row with Debezium's unavailable-value placeholder takes the reference path, which
        // takes it out before converting (unavailable.ts).
        if (change && !(change.after && hasUnavailable(change.after))) {
          count('decode', 'fast')
          return codec.fast.conformed && change.after ? { key, value: change.after, op: change.op, before: change.before } : fromChange(change, key, codec.conformRow)
        }
      }
      count('decode', 'reference')
      let change: ChangeEvent
      try {
        change = codec.exact.decode(record.value.subarray(HEADER_SIZE), record)
      } catch (e) {
        if (e instanceof TributaryError) throw e
        throw new TributaryError('TRIB_DECODE_AVRO', `bytes do not decode with schema id ${id}: ${messageOf(e)}`, { cause: e, details: { schemaId: id } })
      }
      return withPreviousKey(fromChange(change, key, codec.conformRow), record, decodeKey)
    },
    ...(evolution ? { added: evolution.added } : {}),
  }
}

/** The port's evolution under `evolution: additive` (which needs a reader schema: the spec checks it). */
export const evolutionOf = (spec: DecoderSpec, reader: Type | undefined): ReaderEvolution | undefined =>
  spec.evolution === 'additive' && reader && spec.readerSchema ? new ReaderEvolution(spec.readerSchema) : undefined

/** The reader for an AvroConverter envelope's row under evolution: its columns the declared reader lacks, typed (reader-types.ts). */
function avroRowReader(evolution: ReaderEvolution, writer: object, id: number): Type | undefined {
  const row = rowSchemaOf(writer) as { fields?: Array<{ name: string; type: unknown }> }
  const columns: Array<{ name: string; type: unknown }> = []
  for (const f of row.fields ?? []) {
    if (evolution.declares(f.name)) continue
    try {
      columns.push({ name: f.name, type: readerTypeOfAvro(f.type as never, new Map(), `after.${f.name}`) })
    } catch (e) {
      if (!(e instanceof FieldError)) throw e
      throw new TributaryError('TRIB_DECODE_INCOMPATIBLE', `writer schema id ${id}: new column ${e.message}`, { cause: e, details: { schemaId: id, field: f.name } })
    }
  }
  return columns.length === 0 ? undefined : evolution.readerFor(columns, `writer schema id ${id}: after`).type
}

/**
 * Without a writer schema (JSON without the wrapper) a column the reader lacks has no type to read
 * it with: under evolution: additive it is refused rather than dropped.
 */
export function refuseUntyped(evolution: ReaderEvolution, row: Row, record: LogRecord, path = 'after.'): void {
  for (const name of Object.keys(row))
    if (!evolution.declares(name))
      throw new TributaryError('TRIB_DECODE_INCOMPATIBLE', `${describeRef(record)}: field ${path}${name} is not in the port's reader schema, and JSON carries no schema to type it${path ? ' (Debezium JSON without the {schema, payload} wrapper: turn on schemas.enable, or declare it)' : ': declare it'}`, {
        details: { topic: record.topic, partition: record.partition, offset: record.offset, field: name },
      })
}

/**
 * Debezium change events in JSON (JsonConverter), with or without the `{schema, payload}` wrapper;
 * without it the reader schema says how to read each field (bare.ts).
 */
export const jsonDebeziumDecoder: DecoderFactory = (spec, reader, _ctx, count) => {
  const conformRow: (row: Row) => Row = reader ? (compileConformer(reader) as (row: Row) => Row) : (row) => row
  const evolution = evolutionOf(spec, reader)
  const changes = new JsonChangeReader({ reader, evolution })
  // Conformers of the readers evolution made, one per writer schema that added columns.
  const evolved = new WeakMap<Type, (row: Row) => Row>()
  const conformerOf = (t: Type) => {
    let c = evolved.get(t)
    if (!c) evolved.set(t, (c = compileConformer(t) as (row: Row) => Row))
    return c
  }
  const decodeKey = (key: Buffer | null) => jsonKey(changes, key)
  return {
    schemaIds: () => undefined,
    decodeKey,
    decode(record) {
      const key = decodeKey(record.key)
      if (record.value === null) return { key, value: null }
      count('decode', 'reference')
      const change = changes.read(record.value, record)
      if (evolution && !change.readerType && change.after) refuseUntyped(evolution, change.after, record)
      return withPreviousKey(fromChange(change, key, change.readerType ? conformerOf(change.readerType) : conformRow), record, decodeKey)
    },
    ...(evolution ? { added: evolution.added } : {}),
  }
}

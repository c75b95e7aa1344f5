/**
 * Debezium change events in Avro (Confluent AvroConverter). The envelope is decoded with plain avsc
 * (no logical types, unwrapped unions) so every semantic field arrives raw and is converted here,
 * once, by a converter compiled per writer schema.
 *
 * Longs: avsc's native long refuses values beyond 2^53, which is right for ordinary columns (a
 * decode error) but wrong for NanoTime/NanoTimestamp columns and for the `ts_ns` metadata of
 * Debezium 2.6+ (≈1.7e18 in every event). Only those fields get an exact long (a number when
 * safe, else a bigint); all others keep avsc's fast native decoding.
 */
import avro from 'avsc'
import type { Type } from 'avsc'
import { isNanoKind } from './semantic.ts'
import { compileAvro, kindOfAvro } from './avro-convert.ts'
import { deref, isObject, qualify, standalone, type AvroObject, type AvroSchema } from './avro-names.ts'
import { envelopeError, toChangeEvent } from './envelope.ts'
import { FieldError, type ChangeEvent, type RecordRef } from './types.ts'
import { TributaryError } from '../../errors.ts'

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_LONG = -(1n << 63n)
const MAX_LONG = (1n << 63n) - 1n

const narrow = (n: bigint): number | bigint => (n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n)

const isExactLong = (v: unknown): boolean =>
  (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'bigint' && v >= MIN_LONG && v <= MAX_LONG)

/** A long that decodes to a number when safe and to a bigint otherwise, and encodes either. */
export const exactLongType: Type = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => narrow(buf.readBigInt64LE(0)),
  toBuffer: (v: number | bigint) => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(BigInt(v))
    return buf
  },
  fromJSON: (v: unknown) => narrow(BigInt(v as string | number)),
  toJSON: (v: number | bigint) => (typeof v === 'bigint' ? v.toString() : v),
  isValid: isExactLong,
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
})

/** Marks a long for the exact type; an attribute avsc ignores and our typeHook looks for. */
const EXACT = 'tributary.exactLong'

const typeHook = (schema: unknown): Type | undefined => {
  if (!isObject(schema) || schema.type !== 'long') return undefined
  if (schema[EXACT] === true || isNanoKind(kindOfAvro(schema))) return exactLongType
  return undefined
}

const markExact = (t: unknown): unknown => {
  if (t === 'long') return { type: 'long', [EXACT]: true }
  if (Array.isArray(t)) return t.map(markExact)
  return t
}

/** Marks `ts_ns` among a record's direct fields (the envelope's, the source block's). */
function markNanoMetadata(record: AvroObject): AvroObject {
  const fields = (record.fields as AvroObject[]).map((f) => {
    if (f.name === 'ts_ns') return { ...f, type: markExact(f.type) }
    if (f.name === 'source' && isObject(f.type) && Array.isArray(f.type.fields)) return { ...f, type: markNanoMetadata(f.type) }
    return f
  })
  return { ...record, fields }
}

function envelopeRecord(writerSchema: object): AvroObject {
  const s = writerSchema as AvroSchema
  if (!isObject(s) || s.type !== 'record' || !Array.isArray(s.fields)) {
    throw new TributaryError('TRIB_DECODE_ENVELOPE', `Avro writer schema ${nameOf(s)} is not a Debezium envelope (not a record)`)
  }
  const fields = s.fields as AvroObject[]
  for (const required of ['op', 'after']) {
    if (!fields.some((f) => f.name === required)) {
      throw new TributaryError('TRIB_DECODE_ENVELOPE', `Avro writer schema ${nameOf(s)} is not a Debezium envelope (no \`${required}\` field)`, {
        details: { field: required },
      })
    }
  }
  return s
}

const nameOf = (s: unknown): string => (isObject(s) && typeof s.name === 'string' ? s.name : '(anonymous)')

/**
 * The avsc type to decode a Debezium envelope with: plain avsc, `wrapUnions: false`, no logical
 * types, exact longs where needed. Decoded records are avsc record objects with raw wire values.
 */
export function createEnvelopeType(writerSchema: object): Type {
  return parse(markNanoMetadata(envelopeRecord(writerSchema)))
}

/** An avsc type for any other Debezium-written schema (e.g. the key), with the same long handling. */
export function createPlainType(writerSchema: object): Type {
  return parse(writerSchema)
}

function parse(schema: object): Type {
  try {
    return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false, typeHook })
  } catch (e) {
    throw new TributaryError('TRIB_DECODE_ENVELOPE', `Avro writer schema ${nameOf(schema)} cannot be used: ${(e as Error).message}`, { cause: e })
  }
}

function fieldType(record: AvroObject, name: string): AvroSchema | undefined {
  const f = (record.fields as AvroObject[]).find((x) => x.name === name)
  return f === undefined ? undefined : (f.type as AvroSchema)
}

/** The row record (`after`'s non-null branch) of a qualified envelope, dereferenced. */
function rowOf(envelope: AvroObject, named: Map<string, AvroObject>): AvroObject {
  const t = fieldType(envelope, 'after')
  const branches = Array.isArray(t) ? t : t === undefined ? [] : [t]
  for (const b of branches) {
    const d = deref(b, named)
    if (isObject(d) && d.type === 'record') return d
  }
  throw new TributaryError('TRIB_DECODE_ENVELOPE', `Avro writer schema ${nameOf(envelope)}: field \`after\` has no record branch`, {
    details: { field: 'after' },
  })
}

/**
 * The Avro schema of the table row, standalone: names fully qualified (so the `Value` record keeps
 * its `<topic>` namespace once lifted out of the envelope), referenced types inlined.
 */
export function rowSchemaOf(writerSchema: object): object {
  const { schema, named } = qualify(envelopeRecord(writerSchema) as AvroSchema)
  return standalone(rowOf(schema as AvroObject, named), named) as object
}

export interface AvroChangeCodec {
  /** Decodes envelope bytes (the Avro body, after the Confluent frame) to avsc's raw value. */
  readonly type: Type
  /** Decodes and converts in one call: `convert(type.fromBuffer(body))`, honouring `withSource`. */
  decode(body: Buffer, at?: RecordRef): ChangeEvent
  /** Raw decoded envelope -> canonical ChangeEvent. Throws TRIB_DECODE_ENVELOPE naming the field. */
  convert(decoded: unknown, at?: RecordRef): ChangeEvent
  /** See rowSchemaOf. */
  readonly rowSchema: object
}

/** Envelope fields a processor does not need; `withSource: false` skips their bytes unread. */
const metadataFields = new Set(['source', 'transaction', 'ts_us', 'ts_ns'])

/**
 * Compile once per writer schema (cache by schema id); `decode`/`convert` are the per-record hot
 * path. With `withSource: false` the source block and transaction metadata are skipped while
 * decoding (about a quarter of the decode time) and `source` is null in the events.
 */
export function compileAvroChange(writerSchema: object, options: { withSource?: boolean } = {}): AvroChangeCodec {
  const withSource = options.withSource ?? true
  const type = createEnvelopeType(writerSchema)
  const { schema, named } = qualify(envelopeRecord(writerSchema) as AvroSchema)
  const envelope = schema as AvroObject
  const row = rowOf(envelope, named)
  // Compiled per side so that errors name `before.price` or `after.price`.
  const converters = {
    before: compileAvro(row, named, 'before'),
    after: compileAvro(row, named, 'after'),
    source: withSource ? compileAvro(fieldType(envelope, 'source') ?? 'null', named, 'source') : undefined,
  }
  const convert = (decoded: unknown, at?: RecordRef) => toChangeEvent(decoded, converters, at)
  let read = (body: Buffer): unknown => type.fromBuffer(body)
  if (!withSource) {
    const writer = envelopeRecord(writerSchema)
    const slim = { ...writer, fields: (writer.fields as AvroObject[]).filter((f) => !metadataFields.has(String(f.name))) }
    const reader = createEnvelopeType(slim)
    const resolver = reader.createResolver(type)
    read = (body) => reader.fromBuffer(body, resolver)
  }
  return { type, rowSchema: standalone(row, named) as object, convert, decode: (body, at) => convert(read(body), at) }
}

export interface AvroValueCodec {
  readonly type: Type
  /** Raw decoded value -> canonical value; throws TRIB_DECODE_ENVELOPE naming the field. */
  convert(decoded: unknown, at?: RecordRef): unknown
}

/** For Debezium keys (a `<topic>.Key` record) or any other AvroConverter-written schema. */
export function compileAvroValue(writerSchema: object, path = 'key'): AvroValueCodec {
  const type = createPlainType(writerSchema)
  const { schema, named } = qualify(writerSchema as AvroSchema)
  const convert = compileAvro(schema, named, path)
  return {
    type,
    convert: (decoded, at) => {
      if (convert === undefined || decoded == null) return decoded
      try {
        return convert(decoded)
      } catch (e) {
        if (e instanceof FieldError) throw envelopeError(at, `field ${e.message}`, e.path, e)
        throw e
      }
    },
  }
}

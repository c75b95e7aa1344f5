/**
 * Debezium change events in Avro (Confluent AvroConverter). The envelope is decoded with plain avsc
 * (no logical types, unwrapped unions) and the exact primitive types of types/avro-types.ts (every
 * long an int64 of the value model, strings checked for UTF-8), so every semantic field arrives raw
 * and is converted here, once, by a converter compiled per writer schema.
 */
import avro from 'avsc'
import type { Type } from 'avsc'
import { exactTypeHook, Utf8Error } from '../types/avro-types.ts'
import { formatPath } from '../types/describe.ts'
import { findIllFormed } from '../values/utf8.ts'
import { compileAvro } from './avro-convert.ts'
import { deref, isObject, qualify, standalone, type AvroObject, type AvroSchema } from './avro-names.ts'
import { envelopeError, toChangeEvent } from './envelope.ts'
import { describeRef, FieldError, type ChangeEvent, type RecordRef } from './types.ts'
import { TributaryError } from '../../errors.ts'

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
 * types, exact primitives. Decoded records are avsc record objects with raw wire values.
 */
export function createEnvelopeType(writerSchema: object, utf8: 'throw' | 'escape' = 'throw'): Type {
  return parse(envelopeRecord(writerSchema), utf8)
}

/** An avsc type for any other Debezium-written schema (e.g. the key), with the same primitives. */
export function createPlainType(writerSchema: object): Type {
  return parse(writerSchema, 'throw')
}

function parse(schema: object, utf8: 'throw' | 'escape'): Type {
  try {
    return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false, typeHook: exactTypeHook(utf8) } as never)
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
 * decoding (about a quarter of the decode time) and `source` is null in the events. `local` names
 * the row's zoneless timestamp columns to read as local date-times (see converterFor).
 */
export function compileAvroChange(writerSchema: object, options: { withSource?: boolean; local?: ReadonlySet<string> } = {}): AvroChangeCodec {
  const withSource = options.withSource ?? true
  const type = createEnvelopeType(writerSchema)
  const { schema, named } = qualify(envelopeRecord(writerSchema) as AvroSchema)
  const envelope = schema as AvroObject
  const row = rowOf(envelope, named)
  // Compiled per side so that errors name `before.price` or `after.price`.
  const converters = {
    before: compileAvro(row, named, 'before', options.local),
    after: compileAvro(row, named, 'after', options.local),
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
  const decode = (body: Buffer, at?: RecordRef): ChangeEvent => {
    let decoded: unknown
    try {
      decoded = read(body)
    } catch (e) {
      if (e instanceof Utf8Error) throw utf8Error(writerSchema, body, at, e)
      throw e
    }
    return convert(decoded, at)
  }
  return { type, rowSchema: standalone(row, named) as object, convert, decode }
}

/** TRIB_DECODE_UTF8 naming the field, found by reading the body again with strings that keep bad bytes (values/utf8.ts). */
function utf8Error(writerSchema: object, body: Buffer, at: RecordRef | undefined, cause: unknown): TributaryError {
  let field: string | undefined
  try {
    const path = findIllFormed(createEnvelopeType(writerSchema, 'escape').fromBuffer(body))
    if (path) field = formatPath(path)
  } catch {
    // unnamed; the code still says what is wrong
  }
  return new TributaryError('TRIB_DECODE_UTF8', `${describeRef(at)}: ${field ? `field ${field}` : 'a string'} is not valid UTF-8`, {
    cause,
    details: { ...at, ...(field ? { field } : {}) },
  })
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

/**
 * Debezium change events in JSON (Kafka Connect JsonConverter), with the `{schema, payload}`
 * wrapper (schemas.enable=true) or as a bare payload (schemas.enable=false).
 *
 * With the wrapper the Connect schema drives conversion to canonical values. Without it the port's
 * reader schema does (bare.ts), when there is one; without either, values pass through as given
 * (ints stay ints, base64 stays a string, an unsafe integer stays a bigint) and whoever reads them
 * judges them. Bytes are checked for UTF-8 and integers stay exact (json/read.ts).
 */
import type { Type } from 'avsc'
import { TributaryError } from '../../errors.ts'
import { parseJsonBytes } from '../json/read.ts'
import { isUtf8 } from '../values/utf8.ts'
import { isSchemaWrapper, parseJsonText } from './connect-json.ts'
import { compileBare } from './bare.ts'
import { compileConnect, type ConnectSchema } from './connect-schema.ts'
import type { Convert } from './semantic.ts'
import { envelopeError, toChangeEvent, type EnvelopeConverters } from './envelope.ts'
import { keyFromMessage } from './keys.ts'
import { skipValue } from '../json/exact.ts'
import { describeRef, FieldError, type ChangeEvent, type RecordRef } from './types.ts'
import type { ReaderEvolution } from '../types/additive.ts'
import { readerTypeOfConnect } from './reader-types.ts'

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

// The schema repeats in every message of a table and is most of its bytes. The wrapper is split
// textually so that a schema already seen costs one map lookup: it is neither parsed nor compiled
// again, and only the payload goes through the exact parser. Bounded: evicts the oldest entry.
const CACHE_LIMIT = 256

const wrapperStart = /^\s*\{\s*"schema"\s*:\s*/y
const payloadStart = /\s*,\s*"payload"\s*:\s*/y

/** `{"schema":S,"payload":P}` as JsonConverter writes it -> [S text, P parsed]; undefined for anything else. */
function splitWrapper(text: string): [schemaText: string, payload: unknown] | undefined {
  wrapperStart.lastIndex = 0
  if (!wrapperStart.test(text)) return undefined
  const schemaFrom = wrapperStart.lastIndex
  const schemaTo = skipValue(text, schemaFrom)
  if (schemaTo < 0 || text.charCodeAt(schemaFrom) !== 123) return undefined
  payloadStart.lastIndex = schemaTo
  if (!payloadStart.test(text)) return undefined
  const close = text.lastIndexOf('}')
  try {
    const payload = parseJsonBytes(text.slice(payloadStart.lastIndex, close), '')
    return [text.slice(schemaFrom, schemaTo), payload]
  } catch {
    return undefined // not the exact shape (or a bad string); the full parse below decides and reports
  }
}

/**
 * Reads one input port's Debezium JSON: change events and message keys, with the compiled Connect
 * schemas cached (per reader, so two runtimes never share them). `reader` is the port's reader
 * schema: it converts bare payloads, and a zoneless timestamp column it declares
 * `local-timestamp-*` is read as a local date-time, without the 'Z'. With `evolution`
 * (`evolution: additive`), a wrapped event's columns the reader lacks are typed from their Connect
 * schema (reader-types.ts) and the event says which reader it is read with (`readerType`).
 */
export class JsonChangeReader {
  readonly #converters = new Map<string, EnvelopeConverters>()
  readonly #keys = new Map<string, Convert | null>()
  readonly #bare: EnvelopeConverters
  readonly #local: ReadonlySet<string> | undefined
  readonly #evolution: ReaderEvolution | undefined

  constructor(options: { reader?: Type | undefined; evolution?: ReaderEvolution | undefined } = {}) {
    const bare = options.reader ? compileBare(options.reader) : undefined
    this.#bare = bare ? { before: bare, after: bare } : {}
    this.#local = options.reader ? localTimestampFields(options.reader) : undefined
    this.#evolution = options.evolution
  }

  /**
   * One Debezium JSON change event -> ChangeEvent. Throws TRIB_DECODE_JSON (not JSON),
   * TRIB_DECODE_UTF8 or TRIB_DECODE_ENVELOPE (JSON but not a change event; the message names the
   * field). A null Kafka value is a tombstone and must be handled before calling this (see isTombstone).
   */
  read(value: Buffer | string, at?: RecordRef): ChangeEvent {
    // A bad byte anywhere goes the long way, which names the field.
    const text = typeof value === 'string' ? value : value.toString('utf8')
    const valid = typeof value === 'string' || text.indexOf('\uFFFD') < 0 || isUtf8(value)
    const split = valid ? splitWrapper(text) : undefined
    if (split !== undefined) return this.#fromWrapper(split[0], undefined, split[1], at)
    const parsed = parseJsonText(value, at)
    if (isSchemaWrapper(parsed)) return this.#fromWrapper(JSON.stringify(parsed.schema), parsed.schema, parsed.payload, at)
    return toChangeEvent(parsed, this.#bare, at)
  }

  /**
   * The canonical key from a message key: JSON (wrapped: converted with its Connect schema; bare:
   * as given), an already decoded value as it is, text that is not JSON as a string; null for an
   * absent or empty key. See keys.ts.
   */
  key(value: unknown, at?: RecordRef): unknown {
    return keyFromMessage(value, at, (wrapper) => this.#convertWrapped(wrapper, at))
  }

  #fromWrapper(schemaText: string, schema: Record<string, unknown> | undefined, payload: unknown, at: RecordRef | undefined): ChangeEvent {
    if (payload === null) throw envelopeError(at, 'field `payload` is null', 'payload')
    const converters = this.#convertersFor(schemaText, schema, at)
    const event = toChangeEvent(payload, converters, at)
    if (converters.reader) event.readerType = converters.reader
    return event
  }

  #convertersFor(schemaText: string, schema: Record<string, unknown> | undefined, at: RecordRef | undefined): EnvelopeConverters {
    let hit = this.#converters.get(schemaText)
    if (hit !== undefined) return hit
    const s = schema ?? (parseJsonText(schemaText, at) as Record<string, unknown>)
    const fields = Array.isArray(s.fields) ? (s.fields as unknown[]) : []
    const fieldSchema = (name: string): unknown => fields.find((f) => isObj(f) && f.field === name)
    const side = (name: string, local?: ReadonlySet<string>): Convert | undefined => {
      const f = fieldSchema(name)
      return f === undefined ? undefined : compileConnect(f, name, local)
    }
    const reader = this.#evolution ? this.#evolved(fieldSchema('after'), at) : undefined
    // Added zoneless timestamps are declared local-timestamp-* (reader-types.ts), so they read as local too.
    const local = reader ? localTimestampFields(reader) : this.#local
    try {
      hit = { before: side('before', local), after: side('after', local), source: side('source'), ...(reader ? { reader } : {}) }
    } catch (e) {
      if (e instanceof FieldError) throw envelopeError(at, `schema of field ${e.message}`, e.path, e)
      throw e
    }
    if (this.#converters.size >= CACHE_LIMIT) this.#converters.delete(this.#converters.keys().next().value!)
    this.#converters.set(schemaText, hit)
    return hit
  }

  /** The reader for a row struct's columns under evolution: additive; undefined when it adds none. */
  #evolved(after: unknown, at: RecordRef | undefined): Type | undefined {
    const evolution = this.#evolution!
    const fields = isObj(after) && Array.isArray(after.fields) ? (after.fields as ConnectSchema[]) : []
    const columns: Array<{ name: string; type: unknown }> = []
    for (const f of fields) {
      if (typeof f.field !== 'string' || evolution.declares(f.field)) continue
      try {
        columns.push({ name: f.field, type: readerTypeOfConnect(f, `after.${f.field}`) })
      } catch (e) {
        if (!(e instanceof FieldError)) throw e
        throw new TributaryError('TRIB_DECODE_INCOMPATIBLE', `${describeRef(at)}: new column ${e.message}`, { cause: e, details: { ...at, field: f.field } })
      }
    }
    if (columns.length === 0) return undefined
    return evolution.readerFor(columns, `${describeRef(at)}: after`).type
  }

  /** A `{schema, payload}` value that is not an envelope (a Debezium key) to canonical values. */
  #convertWrapped(wrapper: { schema: Record<string, unknown>; payload: unknown }, at?: RecordRef): unknown {
    if (wrapper.payload == null) return null
    try {
      const cacheKey = JSON.stringify(wrapper.schema)
      let convert = this.#keys.get(cacheKey)
      if (convert === undefined) {
        convert = compileConnect(wrapper.schema, '') ?? null
        if (this.#keys.size >= CACHE_LIMIT) this.#keys.delete(this.#keys.keys().next().value!)
        this.#keys.set(cacheKey, convert)
      }
      return convert === null ? wrapper.payload : convert(wrapper.payload)
    } catch (e) {
      if (e instanceof FieldError) throw envelopeError(at, `key field ${e.message}`, e.path, e)
      throw e
    }
  }
}

/** One change event read on its own (tests, tools): a reader without a reader schema. */
export const parseJsonChange = (value: Buffer | string, at?: RecordRef): ChangeEvent => new JsonChangeReader().read(value, at)

/** The top-level fields a reader schema declares local-timestamp-* (nullable or not). */
export function localTimestampFields(reader: Type): ReadonlySet<string> {
  const fields = (reader as unknown as { fields?: Array<{ name: string; type: Type }> }).fields ?? []
  const isLocal = (t: Type): boolean =>
    t.typeName === 'logical:local-timestamp-millis' || t.typeName === 'logical:local-timestamp-micros' || (t.typeName === 'union:unwrapped' && ((t as unknown as { types: Type[] }).types ?? []).some(isLocal))
  return new Set(fields.filter((f) => isLocal(f.type)).map((f) => f.name))
}

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
import { parseJsonBytes } from '../json/read.ts'
import { isUtf8 } from '../values/utf8.ts'
import { isSchemaWrapper, parseJsonText } from './connect-json.ts'
import { compileBare } from './bare.ts'
import { compileConnect } from './connect-schema.ts'
import type { Convert } from './semantic.ts'
import { envelopeError, toChangeEvent, type EnvelopeConverters } from './envelope.ts'
import { keyFromMessage } from './keys.ts'
import { skipValue } from '../json/exact.ts'
import { FieldError, type ChangeEvent, type RecordRef } from './types.ts'

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
 * `local-timestamp-*` is read as a local date-time, without the 'Z'.
 */
export class JsonChangeReader {
  readonly #converters = new Map<string, EnvelopeConverters>()
  readonly #keys = new Map<string, Convert | null>()
  readonly #bare: EnvelopeConverters
  readonly #local: ReadonlySet<string> | undefined

  constructor(options: { reader?: Type | undefined } = {}) {
    const bare = options.reader ? compileBare(options.reader) : undefined
    this.#bare = bare ? { before: bare, after: bare } : {}
    this.#local = options.reader ? localTimestampFields(options.reader) : undefined
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
    return toChangeEvent(payload, this.#convertersFor(schemaText, schema, at), at)
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
    try {
      hit = { before: side('before', this.#local), after: side('after', this.#local), source: side('source') }
    } catch (e) {
      if (e instanceof FieldError) throw envelopeError(at, `schema of field ${e.message}`, e.path, e)
      throw e
    }
    if (this.#converters.size >= CACHE_LIMIT) this.#converters.delete(this.#converters.keys().next().value!)
    this.#converters.set(schemaText, hit)
    return hit
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

/**
 * Debezium change events in JSON (Kafka Connect JsonConverter), with the `{schema, payload}`
 * wrapper (schemas.enable=true) or as a bare payload (schemas.enable=false).
 *
 * With the wrapper the Connect schema drives conversion to canonical values. Without it nothing is
 * known about the columns, so values pass through as given (ints stay ints, base64 stays a
 * string, an unsafe integer stays a bigint) and the port's reader schema judges them later.
 */
import { TributaryError } from '../../errors.ts'
import { compileConnect } from './connect-schema.ts'
import type { Convert } from './semantic.ts'
import { envelopeError, toChangeEvent, type EnvelopeConverters } from './envelope.ts'
import { parseExact, skipValue } from '../json/exact.ts'
import { describeRef, FieldError, type ChangeEvent, type RecordRef } from './types.ts'

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Parses JSON text or bytes; TRIB_DECODE_JSON when it is not JSON. Big integers stay exact. */
export function parseJsonText(value: Buffer | string, at?: RecordRef): unknown {
  const text = typeof value === 'string' ? value : value.toString('utf8')
  try {
    return parseExact(text)
  } catch (e) {
    throw new TributaryError('TRIB_DECODE_JSON', `${describeRef(at)}: value is not valid JSON (${(e as Error).message})`, {
      cause: e,
      details: { ...at },
    })
  }
}

/** A `{schema, payload}` message as JsonConverter writes it with schemas.enable=true. */
export function isSchemaWrapper(v: unknown): v is { schema: Record<string, unknown>; payload: unknown } {
  return isObj(v) && 'payload' in v && isObj(v.schema) && typeof v.schema.type === 'string'
}

// The schema repeats in every message of a table and is most of its bytes. The wrapper is split
// textually so that a schema already seen costs one map lookup: it is neither parsed nor compiled
// again, and only the payload goes through the exact parser. Bounded: evicts the oldest entry.
const CACHE_LIMIT = 256
const compiled = new Map<string, EnvelopeConverters>()

function convertersFor(schemaText: string, schema: Record<string, unknown> | undefined, at: RecordRef | undefined): EnvelopeConverters {
  let hit = compiled.get(schemaText)
  if (hit !== undefined) return hit
  const s = schema ?? (parseJsonText(schemaText, at) as Record<string, unknown>)
  const fields = Array.isArray(s.fields) ? (s.fields as unknown[]) : []
  const fieldSchema = (name: string): unknown => fields.find((f) => isObj(f) && f.field === name)
  const side = (name: string, strict: boolean): Convert | undefined => {
    const f = fieldSchema(name)
    return f === undefined ? undefined : compileConnect(f, name, strict)
  }
  try {
    hit = { before: side('before', true), after: side('after', true), source: side('source', false) }
  } catch (e) {
    if (e instanceof FieldError) throw envelopeError(at, `schema of field ${e.message}`, e.path, e)
    throw e
  }
  if (compiled.size >= CACHE_LIMIT) compiled.delete(compiled.keys().next().value!)
  compiled.set(schemaText, hit)
  return hit
}

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
    return [text.slice(schemaFrom, schemaTo), parseExact(text.slice(payloadStart.lastIndex, close))]
  } catch {
    return undefined // not the exact shape; the full parse below decides and reports
  }
}

/**
 * One Debezium JSON change event -> ChangeEvent. Throws TRIB_DECODE_JSON (not JSON) or
 * TRIB_DECODE_ENVELOPE (JSON but not a change event; the message names the field). A null Kafka
 * value is a tombstone and must be handled before calling this (see isTombstone).
 */
export function parseJsonChange(value: Buffer | string, at?: RecordRef): ChangeEvent {
  const text = typeof value === 'string' ? value : value.toString('utf8')
  const split = splitWrapper(text)
  if (split !== undefined) return fromWrapper(split[0], undefined, split[1], at)
  const parsed = parseJsonText(text, at)
  if (isSchemaWrapper(parsed)) return fromWrapper(JSON.stringify(parsed.schema), parsed.schema, parsed.payload, at)
  return toChangeEvent(parsed, {}, at)
}

function fromWrapper(schemaText: string, schema: Record<string, unknown> | undefined, payload: unknown, at: RecordRef | undefined): ChangeEvent {
  if (payload === null) throw envelopeError(at, 'field `payload` is null', 'payload')
  return toChangeEvent(payload, convertersFor(schemaText, schema, at), at)
}

const compiledKeys = new Map<string, Convert | null>()

/**
 * Converts a `{schema, payload}` value that is not an envelope (a Debezium key) to canonical values.
 * Key columns are row data, so int64 values must be safe integers.
 */
export function convertWrapped(wrapper: { schema: Record<string, unknown>; payload: unknown }, at?: RecordRef): unknown {
  if (wrapper.payload == null) return null
  try {
    const cacheKey = JSON.stringify(wrapper.schema)
    let convert = compiledKeys.get(cacheKey)
    if (convert === undefined) {
      convert = compileConnect(wrapper.schema, '', true) ?? null
      if (compiledKeys.size >= CACHE_LIMIT) compiledKeys.delete(compiledKeys.keys().next().value!)
      compiledKeys.set(cacheKey, convert)
    }
    return convert === null ? wrapper.payload : convert(wrapper.payload)
  } catch (e) {
    if (e instanceof FieldError) throw envelopeError(at, `key field ${e.message}`, e.path, e)
    throw e
  }
}

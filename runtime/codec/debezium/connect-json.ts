/** Kafka Connect JSON (JsonConverter) as Debezium writes it: the parse, and the `{schema, payload}` wrapper. */
import { TributaryError } from '../../errors.ts'
import { parseJsonBytes } from '../json/read.ts'
import { describeRef, type RecordRef } from './types.ts'

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Parses JSON text or bytes; TRIB_DECODE_JSON when it is not JSON, TRIB_DECODE_UTF8 naming a bad string. */
export function parseJsonText(value: Buffer | string, at?: RecordRef): unknown {
  try {
    return parseJsonBytes(value, describeRef(at))
  } catch (e) {
    if (e instanceof TributaryError) throw new TributaryError(e.code, e.message, { cause: e.cause, details: { ...at, ...e.details } })
    throw e
  }
}

/** A `{schema, payload}` message as JsonConverter writes it with schemas.enable=true. */
export function isSchemaWrapper(v: unknown): v is { schema: Record<string, unknown>; payload: unknown } {
  return isObj(v) && 'payload' in v && isObj(v.schema) && typeof v.schema.type === 'string'
}

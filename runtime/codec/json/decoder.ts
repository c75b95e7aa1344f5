import { TributaryError } from '../../errors.ts'
import { rawKey } from '../avro/decoder.ts'
import type { DecoderFactory } from '../codec.ts'
import { JsonChangeReader } from '../debezium/json.ts'
import { describeRef } from '../debezium/types.ts'
import { compileConformer } from '../types/conform.ts'
import { parseJsonBytes } from './read.ts'
import { evolutionOf, refuseUntyped } from '../debezium/decoder.ts'

type Row = Record<string, unknown>

/**
 * JSON records: UTF-8 checked, integers exact (read.ts), shaped to the port's reader schema when it
 * has one (types/conform.ts). Keys are JSON (a Kafka Connect `{schema, payload}` key is converted
 * with its schema), else text, else bytes.
 */
export const jsonDecoder: DecoderFactory = (spec, reader, _ctx, count) => {
  const conform = reader ? compileConformer(reader) : undefined
  const evolution = evolutionOf(spec, reader)
  const keys = new JsonChangeReader()
  return {
    schemaIds: () => undefined,
    decodeKey: (key) => jsonKey(keys, key),
    decode(record) {
      const key = jsonKey(keys, record.key)
      if (record.value === null) return { key, value: null }
      count('decode', 'reference')
      const value = parseJsonBytes(record.value, describeRef(record))
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new TributaryError('TRIB_VALIDATE_TYPE', `value: expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`)
      if (evolution) refuseUntyped(evolution, value as Row, record, '')
      return { key, value: (conform ? conform(value) : value) as Row }
    },
    ...(evolution ? { added: evolution.added } : {}),
  }
}

/** Keys are read leniently: one not in the expected form is kept as it came, never a dead letter. */
export function jsonKey(keys: JsonChangeReader, key: Buffer | null): unknown {
  if (key === null) return null
  try {
    return keys.key(key)
  } catch {
    return rawKey(key)
  }
}

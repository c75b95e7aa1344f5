import type { LogRecord } from '../../log/log.ts'
import type { DecoderFactory } from '../codec.ts'
import { isUtf8 } from '../values/utf8.ts'
import type { Serde } from './serde.ts'
import { peekSchemaId } from './wire.ts'
import type { Type } from 'avsc'
import { evolutionOf } from '../debezium/decoder.ts'
import { recordOf } from '../types/additive.ts'

type Row = Record<string, unknown>

/**
 * Avro in the Confluent wire format: the writer schema from the frame's id, resolved to the port's
 * reader schema by Avro's rules (types/avro-types.ts keeps it exact). There is no fast path here:
 * every record takes avsc, the reference.
 */
export const avroDecoder: DecoderFactory = (spec, declared, ctx, count) => {
  const evolution = evolutionOf(spec, declared)
  // Under evolution: additive, the reader per writer schema id (the declared one when it adds nothing).
  const readers = new Map<number, Type | undefined>()
  const readerFor = (id: number | undefined): Type | undefined => {
    if (!evolution || id === undefined) return declared
    if (!readers.has(id)) {
      const text = ctx.serde.writerSchema(id)
      // An unknown id: decode below reports it.
      const fields = text === undefined ? [] : recordOf(text, `writer schema id ${id}`).fields.filter((f) => !evolution.declares(f.name))
      readers.set(id, fields.length === 0 ? declared : evolution.readerFor(fields, `writer schema id ${id}`).type)
    }
    return readers.get(id)
  }
  return {
    schemaIds: frameIds,
    decodeKey: (key) => avroKey(ctx.serde, key),
    decode(record) {
      const key = avroKey(ctx.serde, record.key)
      if (record.value === null) return { key, value: null }
      count('decode', 'reference')
      return { key, value: ctx.serde.decode(record.value, readerFor(peekSchemaId(record.value) ?? undefined)).value as Row }
    },
    ...(evolution ? { added: evolution.added } : {}),
  }
}

/** The schema ids of a record's framed key and value. */
export function frameIds(record: LogRecord, into: Set<number>): void {
  const v = record.value && peekSchemaId(record.value)
  if (v !== undefined && v !== null) into.add(v)
  const k = record.key && peekSchemaId(record.key)
  if (k !== undefined && k !== null) into.add(k)
}

/** Keys are read leniently: a key that is not in the expected form is kept as it came (text, or bytes when not UTF-8), never a dead letter. */
export function avroKey(serde: Serde, key: Buffer | null): unknown {
  if (key === null) return null
  if (peekSchemaId(key) !== undefined) {
    try {
      return serde.decode(key).value
    } catch {
      // kept as it came, below
    }
  }
  return rawKey(key)
}

/** A key in no known form: its text when it is UTF-8, else its bytes. */
export const rawKey = (key: Buffer): string | Buffer => (isUtf8(key) ? key.toString('utf8') : key)

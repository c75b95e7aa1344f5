import { writeJson } from '../codec/json/write.ts'
import { messageOf } from '../errors.ts'
import type { OutgoingRecord } from '../log/log.ts'
import type { InputPort } from '../product/load.ts'
import { compileConformer } from '../codec/types/conform.ts'
import { createType } from '../codec/types/logical-types.ts'
import { keySubject, valueSubject } from '../registry/registry.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { fieldAt } from '../spec/fields.ts'
import { fixtureError, type InputLine } from './fixtures.ts'

type Row = Record<string, unknown>

/** When a fixture line gives no timestamp: a fixed start, one second per record, so runs repeat exactly. */
export const FIXTURE_EPOCH = Date.UTC(2026, 0, 1)

/**
 * Writes fixture lines as the port's producers would: JSON text, Confluent-framed Avro with the
 * port's reader schema registered as the writer's, or a Debezium change event (JSON without the
 * schema wrapper, or Avro with an envelope built around the row schema). So a test goes through the
 * product's real decoders, contract checks and dead-letter paths.
 */
export async function inputEncoder(port: InputPort, serde: Serde): Promise<(line: InputLine, index: number) => Promise<OutgoingRecord>> {
  const { topic, format, envelope } = port.spec
  const cdc = envelope === 'debezium'
  const schema = port.schema?.schema
  const textKey = (k: unknown): Buffer | null => (k === undefined || k === null ? null : Buffer.from(typeof k === 'string' ? k : writeJson(k)))
  if (format === 'json') {
    const value = (l: InputLine) => (cdc ? Buffer.from(writeJson(change(l))) : l.value === null ? null : Buffer.from(writeJson(l.value)))
    return async (line, index) => record(topic, line, index, textKey(line.key), () => value(line))
  }
  if (!schema) return async (line, index) => record(topic, line, index, textKey(line.key), undefined)

  const conform = compileConformer(createType(schema))
  let value: (l: InputLine) => Buffer | null
  if (cdc) {
    const encode = await serde.encoder(valueSubject(topic), envelopeSchema(topic, schema))
    value = (l) => {
      const c = change(l)
      return c === null ? null : encode({ ...c, before: c.before ? conform(c.before) : null, after: c.after ? conform(c.after) : null })
    }
  } else {
    const encode = await serde.encoder(valueSubject(topic), schema)
    value = (l) => (l.value === null || l.value === undefined ? null : encode(conform(l.value)))
  }
  // A record key is written as Avro of those fields (as Debezium's key struct is); others as text.
  const keyEncoders = new Map<string, Promise<(v: unknown) => Buffer>>()
  const keyEncoder = (fields: string[]) => {
    let encoder = keyEncoders.get(fields.join(','))
    if (!encoder) {
      const keySchema = {
        type: 'record',
        name: 'Key',
        namespace: `tributary.fixture.${topic.replace(/[^A-Za-z0-9_]/g, '_')}`,
        fields: fields.map((name) => {
          const f = fieldAt(schema, name)
          if (!f) throw new Error(`key field ${name} is not in the port's schema`)
          return { name, type: f.type }
        }),
      }
      const conformKey = compileConformer(createType(keySchema))
      encoder = serde.encoder(keySubject(topic), keySchema).then((encode) => (v: unknown) => encode(conformKey(v)))
      keyEncoders.set(fields.join(','), encoder)
    }
    return encoder
  }
  return async (line, index) => {
    const k = line.key
    let key: Buffer | null
    try {
      key = k === null || k === undefined || typeof k !== 'object' || Buffer.isBuffer(k) ? textKey(k) : (await keyEncoder(Object.keys(k)))(k)
    } catch (e) {
      throw fixtureError(line.file, line.line, `key: ${messageOf(e)}`)
    }
    return record(topic, line, index, key, () => value(line))
  }
}

function record(topic: string, l: InputLine, index: number, key: Buffer | null, value: (() => Buffer | null) | undefined): OutgoingRecord {
  try {
    const bytes =
      l.valueText !== undefined
        ? Buffer.from(l.valueText)
        : l.valueBase64 !== undefined
          ? Buffer.from(l.valueBase64, 'base64')
          : value
            ? value()
            : (() => {
                throw new Error('this Avro port has no reader schema to write the value with: give valueBase64')
              })()
    const timestamp = l.timestamp === undefined ? FIXTURE_EPOCH + index * 1000 : typeof l.timestamp === 'number' ? l.timestamp : Date.parse(l.timestamp)
    if (!Number.isFinite(timestamp)) throw new Error(`timestamp ${JSON.stringify(l.timestamp)} is not an ISO 8601 time`)
    return {
      topic,
      partition: 0,
      key,
      value: bytes,
      timestamp,
      ...(l.headers ? { headers: Object.fromEntries(Object.entries(l.headers).map(([k, v]) => [k, Buffer.from(String(v))])) } : {}),
    }
  } catch (e) {
    throw fixtureError(l.file, l.line, `cannot write this record for topic ${topic}: ${messageOf(e)}`)
  }
}

function change(l: InputLine): { op: string; before: Row | null; after: Row | null; ts_ms: number } | null {
  if (l.value === null) return null
  const op = l.op ?? 'c'
  const after = l.after ?? (op === 'd' ? null : (l.value ?? null))
  const before = l.before ?? (op === 'd' ? (l.value ?? null) : null)
  return { op, before, after, ts_ms: FIXTURE_EPOCH }
}

/** A Debezium envelope around the port's row schema, as Debezium's AvroConverter shapes it. */
function envelopeSchema(topic: string, row: Row): Row {
  const full = row.namespace && !String(row.name).includes('.') ? `${String(row.namespace)}.${String(row.name)}` : String(row.name)
  return {
    type: 'record',
    name: 'Envelope',
    namespace: `tributary.fixture.${topic.replace(/[^A-Za-z0-9_]/g, '_')}`,
    fields: [
      { name: 'before', type: ['null', row], default: null },
      { name: 'after', type: ['null', full], default: null },
      { name: 'op', type: 'string' },
      { name: 'ts_ms', type: ['null', 'long'], default: null },
    ],
  }
}

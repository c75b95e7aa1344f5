import type { LogRecord, StartFrom } from '../log/log.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { HEADER_SIZE, peekSchemaId } from '../codec/avro/wire.ts'
import { compileAvroChange, type AvroChangeCodec } from '../codec/debezium/index.ts'
import { TributaryError } from '../errors.ts'

/** A record as commands show it: key and value decoded as far as they can be, headers as text. */
export interface RecordView {
  topic: string
  partition: number
  offset: number
  timestamp: string
  key: unknown
  value: unknown
  headers: Record<string, string>
  schemaId?: number
}

export function viewRecord(r: LogRecord, serde: Serde): RecordView {
  const value = decodeBytes(r.value, serde)
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: new Date(r.timestamp).toISOString(),
    key: decodeBytes(r.key, serde).value,
    value: value.value,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')])),
    ...(value.schemaId !== undefined ? { schemaId: value.schemaId } : {}),
  }
}

const debezium = new Map<number, AvroChangeCodec | null>()

/** A Debezium envelope schema is shown as its change event, with Debezium's types converted. */
function debeziumCodec(id: number, serde: Serde): AvroChangeCodec | null {
  let codec = debezium.get(id)
  if (codec === undefined) {
    const text = serde.writerSchema(id) ?? ''
    codec = null
    if (/"name":\s*"[^"]*\.Envelope"/.test(text) && text.includes('"op"')) {
      try {
        codec = compileAvroChange(JSON.parse(text) as object)
      } catch {
        codec = null
      }
    }
    debezium.set(id, codec)
  }
  return codec
}

/** Avro in the Confluent frame when the id is known; else JSON; else text; else base64. */
export function decodeBytes(b: Buffer | null, serde: Serde): { value: unknown; schemaId?: number } {
  if (b === null) return { value: null }
  const id = peekSchemaId(b)
  if (id !== undefined && serde.writerType(id)) {
    const codec = debeziumCodec(id, serde)
    if (codec) {
      try {
        const e = codec.decode(b.subarray(HEADER_SIZE))
        return { value: { op: e.op, before: e.before, after: e.after, source: e.source, ts_ms: e.tsMs }, schemaId: id }
      } catch {
        // shown raw below
      }
    }
    try {
      return { value: serde.decode(b).value, schemaId: id }
    } catch {
      // shown raw below
    }
  }
  const text = b.toString('utf8')
  if (!text.includes('\uFFFD')) {
    try {
      return { value: JSON.parse(text) }
    } catch {
      if (!/[\x00-\x08\x0e-\x1f]/.test(text)) return { value: text }
    }
  }
  return { value: `base64:${b.toString('base64')}` }
}

/** Schema ids a batch refers to, for one prefetch. */
export function idsOf(records: readonly LogRecord[]): number[] {
  const ids = new Set<number>()
  for (const r of records) {
    for (const b of [r.key, r.value]) {
      const id = b && peekSchemaId(b)
      if (id !== undefined && id !== null) ids.add(id)
    }
  }
  return [...ids]
}

/** `earliest`, `latest`, an offset, or an ISO 8601 time. */
export function parseFrom(text: string): StartFrom {
  if (text === 'earliest' || text === 'beginning') return { kind: 'earliest' }
  if (text === 'latest' || text === 'end') return { kind: 'latest' }
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: Number(text) }
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return { kind: 'timestamp', timestamp: Date.parse(text) }
  throw new TributaryError('TRIB_USAGE', `--from ${JSON.stringify(text)}: expected earliest, latest, an offset or an ISO 8601 time`)
}

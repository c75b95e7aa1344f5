import type { LogRecord } from '../log/log.ts'
import type { Serde } from './avro/serde.ts'
import { HEADER_SIZE, peekSchemaId } from './avro/wire.ts'
import { compileAvroChange, type AvroChangeCodec } from './debezium/avro.ts'
import { parseExact } from './json/exact.ts'
import { isUtf8 } from './values/utf8.ts'

/** A record as people see it (`tail`, HTTP subscriptions): key and value decoded as far as they can be, headers as text. */
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

/**
 * Shows records whatever they hold, on the reference path: Avro in the Confluent frame when the id
 * is known (a Debezium envelope as its change event, Debezium's types converted), else JSON, else
 * UTF-8 text, else `base64:…`. Compiled Debezium readers are cached per schema id in this view,
 * which belongs to one codec, so one registry. Never throws for a record.
 */
export class RecordViewer {
  readonly #serde: Serde
  readonly #debezium = new Map<number, AvroChangeCodec | null>()

  constructor(serde: Serde) {
    this.#serde = serde
  }

  view(r: LogRecord): RecordView {
    const value = this.bytes(r.value)
    return {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: new Date(r.timestamp).toISOString(),
      key: this.bytes(r.key).value,
      value: value.value,
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, isUtf8(v) ? v.toString('utf8') : `base64:${v.toString('base64')}`])),
      ...(value.schemaId !== undefined ? { schemaId: value.schemaId } : {}),
    }
  }

  /** Avro in the Confluent frame when the id is known; else JSON; else text; else base64. */
  bytes(b: Buffer | null): { value: unknown; schemaId?: number } {
    if (b === null) return { value: null }
    const id = peekSchemaId(b)
    if (id !== undefined && this.#serde.writerType(id)) {
      const codec = this.#debeziumCodec(id)
      if (codec) {
        try {
          const e = codec.decode(b.subarray(HEADER_SIZE))
          return { value: { op: e.op, before: e.before, after: e.after, source: e.source, ts_ms: e.tsMs }, schemaId: id }
        } catch {
          // shown raw below
        }
      }
      try {
        return { value: this.#serde.decode(b).value, schemaId: id }
      } catch {
        // shown raw below
      }
    }
    if (isUtf8(b)) {
      const text = b.toString('utf8')
      try {
        return { value: parseExact(text) }
      } catch {
        if (!/[\x00-\x08\x0e-\x1f]/.test(text)) return { value: text }
      }
    }
    return { value: `base64:${b.toString('base64')}` }
  }

  /** A Debezium envelope schema is shown as its change event. */
  #debeziumCodec(id: number): AvroChangeCodec | null {
    let codec = this.#debezium.get(id)
    if (codec === undefined) {
      const text = this.#serde.writerSchema(id) ?? ''
      codec = null
      if (/"name":\s*"[^"]*\.Envelope"/.test(text) && text.includes('"op"')) {
        try {
          codec = compileAvroChange(JSON.parse(text) as object)
        } catch {
          codec = null
        }
      }
      this.#debezium.set(id, codec)
    }
    return codec
  }
}

/** The schema ids a batch of records refers to, for one prefetch before viewing them. */
export function viewIds(records: readonly LogRecord[]): number[] {
  const ids = new Set<number>()
  for (const r of records) {
    for (const b of [r.key, r.value]) {
      const id = b && peekSchemaId(b)
      if (id !== undefined && id !== null) ids.add(id)
    }
  }
  return [...ids]
}

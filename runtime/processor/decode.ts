import type { LogRecord } from '../log/log.ts'
import type { InputPort } from '../product/load.ts'
import type { ChangeOp } from '../product/transform.ts'

/** An input record after decoding, resolution to the reader schema and the Avro type check. */
export interface Decoded {
  key: unknown
  /** null: a tombstone. */
  value: Record<string, unknown> | null
  op?: ChangeOp
  before?: Record<string, unknown> | null
  /** Columns the source did not send (Debezium's unavailable-value placeholder); null in `value`. */
  unavailable?: ReadonlySet<string>
  /** With `unavailable`, after a primary-key change: the key under which their values are stored. */
  previousKey?: unknown
}

/** Decodes records of one input port. Throws TributaryErrors whose code says decode or validate. */
export interface PortDecoder {
  readonly port: InputPort
  /** Adds the schema ids the record's frames refer to, so they can be fetched before the sync decode. */
  schemaIds(record: LogRecord, into: Set<number>): void
  decode(record: LogRecord): Decoded
  /** A key as this port reads message keys (Confluent-framed Avro, or JSON, else text). */
  decodeKey(key: Buffer | null): unknown
}

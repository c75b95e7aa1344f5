import type { Type } from 'avsc'
import type { LogRecord } from '../log/log.ts'
import type { CodecPath, FrameEncoder, Serde } from './avro/serde.ts'
import type { ChangeOp } from './debezium/types.ts'

/**
 * The codec seam: how the records of a port are read and written, by format (avro, json) and
 * envelope (none, debezium). Each pair is an implementation registered by name (index.ts), so a
 * new format (Protobuf, say) is one folder that registers its decoders and encoder. The engine
 * (processor, table ports, `tributary produce`, the record view of `tail` and HTTP subscriptions)
 * reaches formats only through this.
 */

/** An input record decoded into the value model (VALUES.md). */
export interface Decoded {
  key: unknown
  /** The row: null for a tombstone. */
  value: Record<string, unknown> | null
  /** Change events only (the Debezium envelope): the operation and the row before it. */
  op?: ChangeOp
  before?: Record<string, unknown> | null
  /** Columns the source did not send (Debezium's unavailable-value placeholder); null in `value`. */
  unavailable?: ReadonlySet<string>
  /** With `unavailable`, after a primary-key change: the key under which their values are stored. */
  previousKey?: unknown
}

/**
 * Reads the records of one input port.
 * - `schemaIds(record, into)` adds every schema id the record's key and value refer to. The caller
 *   loads them with `Codec.prefetch` before `decode`, which is synchronous because it runs per
 *   record; an id never loaded, or not registered, is that record's TRIB_DECODE_UNKNOWN_SCHEMA.
 * - `decode(record)` gives key and value in the value model, the value resolved to the port's
 *   reader schema when it has one. It never changes a value to make it fit: what does not fit
 *   throws a TributaryError whose code says why (TRIB_DECODE_*, TRIB_VALIDATE_TYPE) and whose
 *   message names the field. A record is either decoded exactly or refused, the same way on the
 *   fast and the reference paths.
 */
export interface RecordDecoder {
  schemaIds(record: LogRecord, into: Set<number>): void
  decode(record: LogRecord): Decoded
  /** A message key as this port reads keys (lenient: a key in no known form is kept as it came, never refused). */
  decodeKey(key: Buffer | null): unknown
  /**
   * Under `evolution: additive`: the columns the port's reader gained from newer writer schemas so
   * far, by name, with their optional Avro types (types/additive.ts). Grows as writers arrive.
   */
  readonly added?: ReadonlyMap<string, unknown>
}

/** Hears which path decoded or encoded each record (the metric tributary_codec_records_total). */
export type PathCount = (stage: 'decode' | 'encode', path: CodecPath) => void

/** What an input port asks for. */
export interface DecoderSpec {
  format: string
  envelope: string
  /** The port's reader schema (Avro, as JSON); absent: Avro values keep the writer's shape, JSON is taken as it is. */
  readerSchema?: object | undefined
  /**
   * `additive`: a writer schema's fields the reader schema lacks are read too, as optional fields
   * typed from the writer (types/additive.ts); without a writer schema (JSON), such a field is
   * refused (TRIB_DECODE_INCOMPATIBLE, naming it). Needs a reader schema.
   */
  evolution?: 'none' | 'additive' | undefined
}

/** What every decoder and encoder works with: the schema cache over the registry, the fast-path switch. */
export interface CodecContext {
  readonly serde: Serde
  readonly fastPaths: boolean
}

/** A registered format x envelope. `reader` is the spec's reader schema as a type, when it has one. */
export type DecoderFactory = (spec: DecoderSpec, reader: Type | undefined, ctx: CodecContext, count: PathCount) => RecordDecoder

/**
 * A registered format's encoder for values of `schema` on a topic whose value subject is
 * `subject`. `fromJson`: the values were read from JSON (`tributary produce`) and are shaped to
 * the schema first (types/conform.ts); otherwise they are transform outputs, which must already
 * be in the value model. Throws TRIB_ENCODE_FAILED (or TRIB_VALIDATE_TYPE) naming the field.
 */
export type EncoderFactory = (subject: string, schema: object | string | undefined, ctx: CodecContext, options: { fromJson: boolean }) => Promise<FrameEncoder>

import type { Type } from 'avsc'
import { TributaryError } from '../errors.ts'
import type { LogRecord } from '../log/log.ts'
import type { SchemaRegistry } from '../registry/registry.ts'
import { avroDecoder } from './avro/decoder.ts'
import { createSerde, type FrameEncoder, type Serde } from './avro/serde.ts'
import type { CodecContext, DecoderFactory, DecoderSpec, EncoderFactory, PathCount, RecordDecoder } from './codec.ts'
import { avroDebeziumDecoder, jsonDebeziumDecoder } from './debezium/decoder.ts'
import { jsonDecoder } from './json/decoder.ts'
import { writeJson } from './json/write.ts'
import { compileConformer } from './types/conform.ts'
import { createType } from './types/logical-types.ts'
import { RecordViewer, type RecordView } from './view.ts'

export type { CodecPath, FrameEncoder, Serde } from './avro/serde.ts'
export type { Decoded, DecoderSpec, PathCount, RecordDecoder } from './codec.ts'
export type { RecordView } from './view.ts'
export { viewIds } from './view.ts'
export { writeJson } from './json/write.ts'
export { canonicalKey, keySql, keyText } from './key.ts'

/** Decoders by `<format>/<envelope>`; a new format registers its pairs here. */
const decoders: Readonly<Record<string, DecoderFactory>> = {
  'avro/none': avroDecoder,
  'avro/debezium': avroDebeziumDecoder,
  'json/none': jsonDecoder,
  'json/debezium': jsonDebeziumDecoder,
}

/** Encoders by format. */
const encoders: Readonly<Record<string, EncoderFactory>> = {
  async avro(subject, schema, ctx, { fromJson }) {
    if (schema === undefined) throw new TributaryError('TRIB_USAGE', `encoding Avro for ${subject} needs a schema`)
    const encode = await ctx.serde.encoder(subject, schema)
    if (!fromJson) return encode
    const conform = compileConformer(createType(schema))
    return (value, count) => encode(conform(value), count)
  },
  async json(_subject, schema, _ctx, { fromJson }) {
    const conform = schema !== undefined && fromJson ? compileConformer(createType(schema)) : (v: unknown) => v
    return (value, count) => {
      count?.('reference')
      return Buffer.from(writeJson(conform(value)))
    }
  },
}

/**
 * The runtime's codec: every format x envelope over one schema registry, with the caches they
 * build (writer types, compiled Debezium readers, the record view's) owned by this object, so two
 * runtimes never share them. `fastPaths: false` (config `codec.fastPaths: off`) runs everything on
 * the reference paths.
 */
export interface Codec {
  readonly fastPaths: boolean
  /** The Avro schema cache the decoders share; the lake's compactor reads Avro bodies with it. */
  readonly serde: Serde
  /** Loads writer schemas by id (see RecordDecoder.schemaIds); unknown ids are reported per record. */
  prefetch(ids: Iterable<number>): Promise<void>
  /** The decoder of one input port; throws TRIB_SPEC_INVALID for a format x envelope nobody registered. */
  decoder(spec: DecoderSpec, count?: PathCount): RecordDecoder
  /** An encoder for a topic's values (see EncoderFactory). */
  encoder(format: string, subject: string, schema: object | string | undefined, options?: { fromJson?: boolean }): Promise<FrameEncoder>
  /** A record as people see it (tail, subscriptions); prefetch its ids first (viewIds). */
  view(record: LogRecord): RecordView
}

const noCount: PathCount = () => undefined

export function createCodec(registry: SchemaRegistry, options: { fastPaths?: boolean } = {}): Codec {
  const fastPaths = options.fastPaths ?? true
  const serde = createSerde(registry, { fastPaths })
  const ctx: CodecContext = { serde, fastPaths }
  const viewer = new RecordViewer(serde)
  return {
    fastPaths,
    serde,
    prefetch: (ids) => serde.prefetch(ids),
    decoder(spec, count = noCount) {
      const factory = decoders[`${spec.format}/${spec.envelope}`]
      if (!factory) throw new TributaryError('TRIB_SPEC_INVALID', `no codec reads format ${spec.format} with envelope ${spec.envelope} (known: ${Object.keys(decoders).join(', ')})`)
      const reader: Type | undefined = spec.readerSchema ? createType(spec.readerSchema) : undefined
      return factory(spec, reader, ctx, count)
    },
    encoder(format, subject, schema, encoderOptions = {}) {
      const factory = encoders[format]
      if (!factory) throw new TributaryError('TRIB_USAGE', `no codec writes format ${format} (known: ${Object.keys(encoders).join(', ')})`)
      return factory(subject, schema, ctx, { fromJson: encoderOptions.fromJson ?? false })
    },
    view: (record) => viewer.view(record),
  }
}

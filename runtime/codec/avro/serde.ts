import type { Type } from 'avsc'
import { TributaryError, isTributaryError, messageOf } from '../../errors.ts'
import { moduleLogger } from '../../logger.ts'
import { Utf8Error } from '../types/avro-types.ts'
import { describeMismatch, formatPath } from '../types/describe.ts'
import { compileFastWriter, TOO_SMALL, type FastWriter } from './fast-writer.ts'
import { createType } from '../types/logical-types.ts'
import type { SchemaRegistry } from '../../registry/registry.ts'
import { findIllFormed } from '../values/utf8.ts'
import { HEADER_SIZE, frameSchemaId } from './wire.ts'

/**
 * Avro values in the Confluent wire format, with the registry behind them. Only `prefetch` and
 * `encoder` are async (they talk to the registry); `decode` and the encoders they return are
 * synchronous, because they run once per record on the hot path.
 *
 * Contract: call `prefetch` with the schema ids of a batch (see `peekSchemaId`) before decoding it.
 * A frame whose id was never prefetched, or is not registered, fails with
 * TRIB_DECODE_UNKNOWN_SCHEMA.
 */
export interface Serde {
  prefetch(ids: Iterable<number>): Promise<void>
  /** Decodes a framed value; with `readerType`, resolves the writer schema to it (cached). */
  decode(buf: Buffer, readerType?: Type): { schemaId: number; value: unknown }
  /** Registers `schema` under `subject` once and returns a synchronous framing encoder. */
  encoder(subject: string, schema: string | object): Promise<FrameEncoder>
  /** The writer type for a prefetched id. */
  writerType(id: number): Type | undefined
  /** The writer schema's JSON text for a prefetched id (for decoders that compile their own types). */
  writerSchema(id: number): string | undefined
  /** Encoders take the generated writer (fast-writer.ts) unless this is false; avsc always decides what it declines. */
  readonly fastPaths: boolean
}

/**
 * Encodes one value in the Confluent frame; throws TRIB_ENCODE_FAILED naming the field. `count`
 * hears which path wrote it: the generated writer ('fast') or avsc ('reference').
 */
export type FrameEncoder = (value: unknown, count?: (path: CodecPath) => void) => Buffer
export type CodecPath = 'fast' | 'reference'

type Resolver = ReturnType<Type['createResolver']>

const log = moduleLogger('registry')

/**
 * `fastPaths: false` runs every encode on the reference (avsc with the exact types), for the
 * switch that proves the fast paths change nothing (config `codec.fastPaths`).
 */
export function createSerde(registry: SchemaRegistry, options: { fastPaths?: boolean } = {}): Serde {
  const fastPaths = options.fastPaths ?? true
  // A writer type, or the error that stops its schema from being used (kept so it is reported per record).
  const writers = new Map<number, Type | TributaryError>()
  const texts = new Map<number, string>()
  const resolvers = new WeakMap<Type, Map<number, Resolver | TributaryError>>()
  const encoders = new Map<string, Promise<FrameEncoder>>()

  async function prefetch(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !writers.has(id))
    await Promise.all(
      missing.map(async (id) => {
        let text: string
        try {
          text = await registry.schemaById(id)
        } catch (e) {
          // Unknown ids are reported per record by decode; anything else (unreachable) is the caller's.
          if (isTributaryError(e, 'TRIB_REGISTRY_SCHEMA_NOT_FOUND')) return
          throw e
        }
        texts.set(id, text)
        writers.set(id, writerTypeFor(id, text))
      }),
    )
  }

  function decode(buf: Buffer, readerType?: Type): { schemaId: number; value: unknown } {
    const id = frameSchemaId(buf)
    const writer = writers.get(id)
    if (writer === undefined) {
      throw new TributaryError('TRIB_DECODE_UNKNOWN_SCHEMA', `schema id ${id} is not registered (or was not prefetched)`, {
        details: { schemaId: id },
      })
    }
    if (writer instanceof TributaryError) throw fresh(writer)
    let type = writer
    let resolver: Resolver | undefined
    if (readerType !== undefined && readerType !== writer) {
      const r = resolverFor(id, writer, readerType)
      if (r instanceof TributaryError) throw fresh(r)
      type = readerType
      resolver = r
    }
    let result: { value: unknown; offset: number }
    try {
      result = type.decode(buf, HEADER_SIZE, resolver)
    } catch (e) {
      if (e instanceof Utf8Error) throw utf8Error(id, texts.get(id)!, buf, HEADER_SIZE, e)
      throw new TributaryError('TRIB_DECODE_AVRO', `bytes do not decode with schema id ${id}: ${messageOf(e)}`, {
        cause: e,
        details: { schemaId: id },
      })
    }
    if (result.offset !== buf.length) {
      const what = result.offset < 0 ? 'value is truncated' : `${buf.length - result.offset} trailing byte(s) after the record`
      throw new TributaryError('TRIB_DECODE_AVRO', `bytes do not decode with schema id ${id}: ${what}`, { details: { schemaId: id } })
    }
    return { schemaId: id, value: result.value }
  }

  function resolverFor(id: number, writer: Type, reader: Type): Resolver | TributaryError {
    let byId = resolvers.get(reader)
    if (!byId) resolvers.set(reader, (byId = new Map()))
    let r = byId.get(id)
    if (r === undefined) {
      try {
        r = reader.createResolver(writer)
      } catch (e) {
        const name = reader.name ?? reader.typeName
        r = new TributaryError('TRIB_DECODE_INCOMPATIBLE', `writer schema id ${id} cannot be read as ${name}: ${messageOf(e)}`, {
          cause: e,
          details: { schemaId: id, reader: name },
        })
      }
      byId.set(id, r)
    }
    return r
  }

  function encoder(subject: string, schema: string | object): Promise<FrameEncoder> {
    const key = `${subject}\0${typeof schema === 'string' ? schema : JSON.stringify(schema)}`
    let pending = encoders.get(key)
    if (!pending) {
      pending = (async () => {
        const type = createType(schema)
        const { id } = await registry.register(subject, schema)
        if (!writers.has(id)) writers.set(id, type)
        if (!texts.has(id)) texts.set(id, typeof schema === 'string' ? schema : JSON.stringify(schema))
        log.debug({ subject, schemaId: id }, 'encoder ready')
        return frameEncoder(subject, id, type, fastPaths)
      })()
      // A failed registration (registry down, incompatible) may succeed later: do not cache it.
      pending.catch(() => encoders.delete(key))
      encoders.set(key, pending)
    }
    return pending
  }

  function writerType(id: number): Type | undefined {
    const w = writers.get(id)
    return w instanceof TributaryError ? undefined : w
  }

  return { prefetch, decode, encoder, writerType, writerSchema: (id) => texts.get(id), fastPaths }
}

/**
 * TRIB_DECODE_UTF8 naming the field: the body is read again with strings that keep invalid bytes
 * as lone surrogates (types/avro-types.ts), and the first such string is the field. Runs only for
 * records that failed.
 */
export function utf8Error(id: number, writerSchema: string, buf: Buffer, start: number, cause: unknown): TributaryError {
  let field: string | undefined
  try {
    const path = findIllFormed(createType(writerSchema, { wrapUnions: 'auto', utf8: 'escape' }).decode(buf, start).value)
    if (path) field = formatPath(path) || 'value'
  } catch {
    // The field stays unnamed; the code still says what is wrong.
  }
  return new TributaryError('TRIB_DECODE_UTF8', `schema id ${id}: ${field === undefined ? 'a string' : `field ${field}`} is not valid UTF-8`, {
    cause,
    details: { schemaId: id, ...(field === undefined ? {} : { field }) },
  })
}

// Cached failures are reported per record; a copy each time, so a caller adding details (topic,
// partition, offset) to one error does not change the next.
const fresh = (e: TributaryError): TributaryError => new TributaryError(e.code, e.message, { cause: e.cause, details: { ...e.details } })

/**
 * The writer type for a registered schema. A schema whose unions cannot be unwrapped (two records
 * in one union) still decodes, with those unions wrapped, so its records can be resolved to a
 * reader type; only a schema avsc cannot parse at all is refused, per record.
 */
function writerTypeFor(id: number, text: string): Type | TributaryError {
  try {
    return createType(text)
  } catch (first) {
    try {
      return createType(text, { wrapUnions: 'auto' })
    } catch {
      return new TributaryError('TRIB_DECODE_AVRO', `schema id ${id} cannot be used for decoding: ${messageOf(first)}`, {
        cause: first,
        details: { schemaId: id },
      })
    }
  }
}

/**
 * A synchronous encoder. The generated writer (fast-writer.ts) writes each frame straight into a
 * shared slab and the value is a view of it, so a record costs no allocation and no copy of its
 * own; whatever it does not take (a value the reference refuses or reports, a record bigger than a
 * slab) goes through avsc in a reused scratch buffer and is copied out.
 */
function frameEncoder(subject: string, id: number, type: Type, fastPaths: boolean): FrameEncoder {
  const fast = fastPaths ? compileFastWriter(type) : undefined
  const slabs = fast && new Slabs(id)
  let scratch = Buffer.allocUnsafe(16 * 1024)
  writeHeader(scratch, 0, id)
  return (value, count) => {
    if (fast && slabs) {
      const framed = slabs.write(fast, value)
      if (framed) {
        count?.('fast')
        return framed
      }
    }
    count?.('reference')
    let end: number
    try {
      end = type.encode(value, scratch, HEADER_SIZE)
      if (end < 0) {
        // avsc reports how many bytes were missing.
        scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end))
        writeHeader(scratch, 0, id)
        end = type.encode(value, scratch, HEADER_SIZE)
      }
    } catch (e) {
      throw new TributaryError('TRIB_ENCODE_FAILED', `value does not encode with subject ${subject} (schema id ${id}): ${describeMismatch(type, value) ?? messageOf(e)}`, {
        cause: e,
        details: { subject, schemaId: id },
      })
    }
    return copyOut(scratch, end)
  }
}

const writeHeader = (buf: Buffer, at: number, id: number): void => {
  buf[at] = 0
  buf.writeInt32BE(id, at + 1)
}

const SLAB_BYTES = 64 * 1024

/** Frames written back to back into 64 KB slabs; a slab lives as long as a record viewing it. */
class Slabs {
  #slab = Buffer.allocUnsafe(SLAB_BYTES)
  #used = 0
  readonly #id: number

  constructor(id: number) {
    this.#id = id
  }

  /** The framed value, or undefined when the writer refuses it or it needs more than a slab. */
  write(fast: FastWriter, value: unknown): Buffer | undefined {
    for (;;) {
      const start = this.#used
      if (start + HEADER_SIZE < SLAB_BYTES) {
        writeHeader(this.#slab, start, this.#id)
        const end = fast(value, this.#slab, start + HEADER_SIZE)
        if (end > 0) {
          this.#used = end
          return this.#slab.subarray(start, end)
        }
        if (end !== TOO_SMALL || start === 0) return undefined
      }
      this.#slab = Buffer.allocUnsafe(SLAB_BYTES)
      this.#used = 0
    }
  }
}

function copyOut(scratch: Buffer, end: number): Buffer {
  const out = Buffer.allocUnsafe(end)
  scratch.copy(out, 0, 0, end)
  return out
}

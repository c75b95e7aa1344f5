import avro from 'avsc'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileFastWriter } from '../../../runtime/codec/avro/fast-writer.ts'
import { createSerde, type FrameEncoder } from '../../../runtime/codec/avro/serde.ts'
import { frame } from '../../../runtime/codec/avro/wire.ts'
import { createCodec } from '../../../runtime/codec/index.ts'
import { createEnvelopeType } from '../../../runtime/codec/debezium/avro.ts'
import { parseExact } from '../../../runtime/codec/json/exact.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { isTributaryError } from '../../../runtime/errors.ts'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { avroSchema, columnArb, envelopeSchema, memoryRegistry, readerArb, same, specArb, valueArb, wireArb, type Column } from './generators.ts'

/**
 * The fast paths proven equal to the reference (VALUES.md, "Fast paths"): over random schemas and
 * values with the edges, the generated Avro writer and the generated Debezium decoder (with its
 * conform plan) give exactly what the reference gives, and refuse exactly what it refuses, with
 * the same code and message. Seeded, so a failure reproduces; fast-check prints the shrunk case.
 */

const SEED = 20_260_801
const RUNS = Number(process.env.TRIBUTARY_PROPERTY_RUNS ?? 250)

type Outcome = { value: unknown } | { code: string; message: string }
function outcome(fn: () => unknown): Outcome {
  try {
    return { value: fn() }
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message }
    return { code: 'THROWN', message: (e as Error).message }
  }
}
const sameOutcome = (a: Outcome, b: Outcome): boolean =>
  'value' in a && 'value' in b ? same(a.value, b.value) : 'code' in a && 'code' in b && a.code === b.code && a.message === b.message

const show = (v: unknown): string => writeJson(v)

describe('the generated Avro writer equals the reference (avsc with the exact types)', () => {
  it('writes the same bytes and refuses the same values, with the same error', async () => {
    const registry = memoryRegistry()
    const fast = createSerde(registry, { fastPaths: true })
    const reference = createSerde(registry, { fastPaths: false })
    let taken = 0
    let total = 0
    await fc.assert(
      fc.asyncProperty(specArb.chain((spec) => fc.tuple(fc.constant(spec), fc.array(valueArb(spec, 0.07), { minLength: 1, maxLength: 12 }))), async ([spec, values]) => {
        const schema = avroSchema(spec)
        const subject = `s-${total}`
        const paths: string[] = []
        const encodeFast: FrameEncoder = await fast.encoder(subject, schema as object)
        const encodeReference: FrameEncoder = await reference.encoder(subject, schema as object)
        for (const value of values) {
          total++
          const a = outcome(() => encodeFast(value, (p) => paths.push(p)))
          const b = outcome(() => encodeReference(value))
          if (!sameOutcome(a, b)) throw new Error(`schema ${show(schema)}\nvalue ${show(value)}\nfast ${show(a)}\nreference ${show(b)}`)
          // What it wrote decodes to the value again (canonical in, canonical out).
          if ('value' in b) {
            const back = outcome(() => reference.decode(b.value as Buffer).value)
            if (!('value' in back) || !same(back.value, value)) throw new Error(`schema ${show(schema)}\nvalue ${show(value)}\ndecoded ${show(back)}`)
          }
        }
        taken += paths.filter((p) => p === 'fast').length
      }),
      { seed: SEED, numRuns: RUNS },
    )
    // The fast path must actually be exercised, not just decline.
    expect(taken / total).toBeGreaterThan(0.5)
  })

  it('never accepts a value the reference refuses, and writes what it accepts byte for byte', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), valueArb(spec, 0.1))), ([spec, value]) => {
        const type = createType(avroSchema(spec) as object)
        const writer = compileFastWriter(type)
        if (!writer) return
        const buf = Buffer.alloc(1 << 16)
        const end = writer(value, buf, 0)
        const reference = outcome(() => type.toBuffer(value))
        if (end >= 0) {
          if (!('value' in reference) || !buf.subarray(0, end).equals(reference.value as Buffer))
            throw new Error(`fast wrote ${buf.subarray(0, end).toString('hex')} for ${show(value)}, reference ${show(reference)}`)
        } else if (end === -1 && 'value' in reference && !('code' in reference)) {
          // A decline of a valid value is allowed (the reference then writes it), never the opposite.
        }
      }),
      { seed: SEED + 1, numRuns: RUNS * 4 },
    )
  })
})

const columnsArb = fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), column: columnArb, optional: fc.boolean() }), {
  minLength: 1,
  maxLength: 8,
  selector: (c) => c.name,
})

/** A reader schema for the row: a reader type per column (some dropped), and a field the writer lacks. */
const readerFor = (columns: Array<{ name: string; column: Column; optional: boolean }>) =>
  fc
    .tuple(
      fc.tuple(...columns.map((c) => fc.record({ type: readerArb(c.column), nullable: fc.boolean(), keep: fc.boolean() }))),
      fc.boolean(),
    )
    .map(([fields, extra]) => ({
      type: 'record',
      name: 'Row',
      namespace: 'reader',
      fields: [
        ...columns.flatMap((c, i) => {
          const f = fields[i]!
          if (!f.keep && i > 0) return []
          // Named reader types must be unique in the schema.
          const type = typeof f.type === 'object' && (f.type as { type?: string }).type === 'enum' ? { ...(f.type as object), name: `Plan${i}` } : f.type
          return [f.nullable || c.optional ? { name: c.name, type: ['null', type], default: null } : { name: c.name, type }]
        }),
        ...(extra ? [{ name: 'added_by_reader', type: ['null', 'string'], default: null }] : []),
      ],
    }))

/** Byte changes the decoders must refuse alike: a cut, a flipped byte, bytes that are not UTF-8. */
const mutation = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.record({ cut: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ flip: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ utf8: fc.nat(), byte: fc.constantFrom(0xff, 0xc0, 0x80, 0xed) }) },
)

function mutate(bytes: Buffer, m: { cut?: number; flip?: number; utf8?: number; byte?: number } | undefined): Buffer {
  if (!m) return bytes
  const out = Buffer.from(bytes)
  const body = out.length - 5
  if (m.cut !== undefined) return out.subarray(0, 5 + (m.cut % Math.max(1, body)))
  if (m.flip !== undefined) out[5 + (m.flip % Math.max(1, body))] = m.byte!
  if (m.utf8 !== undefined) {
    // Over a printable ASCII byte, likely inside a string.
    const candidates = [...out.subarray(5).keys()].filter((i) => out[5 + i]! >= 0x61 && out[5 + i]! <= 0x7a)
    if (candidates.length > 0) out[5 + candidates[m.utf8 % candidates.length]!] = m.byte!
  }
  return out
}

describe('the generated Debezium decoder equals the reference (envelope readers, then the conformer)', () => {
  it('gives the same change events and the same refusals, with and without a reader schema', async () => {
    const registry = memoryRegistry()
    const fast = createCodec(registry, { fastPaths: true })
    const reference = createCodec(registry, { fastPaths: false })
    let n = 0
    let fastDecoded = 0
    let decoded = 0
    await fc.assert(
      fc.asyncProperty(
        columnsArb.chain((columns) =>
          fc.tuple(
            fc.constant(columns),
            fc.option(readerFor(columns), { nil: undefined, freq: 5 }),
            fc.array(
              fc.tuple(
                fc.constantFrom('c', 'u', 'd', 'r'),
                fc.tuple(...columns.map((c) => (c.optional ? fc.option(wireArb(c.column), { nil: null }) : wireArb(c.column)))),
                mutation,
              ),
              { minLength: 1, maxLength: 10 },
            ),
          ),
        ),
        async ([columns, reader, changes]) => {
          const table = `t${n++}`
          const schema = envelopeSchema(columns, table)
          const { id } = await registry.register(`${table}-value`, schema)
          const type = createEnvelopeType(schema)
          const spec = { format: 'avro', envelope: 'debezium', readerSchema: reader }
          const paths: string[] = []
          const a = fast.decoder(spec, (_stage, p) => paths.push(p))
          const b = reference.decoder(spec)
          await fast.prefetch([id])
          await reference.prefetch([id])
          for (const [op, values, m] of changes) {
            const row = Object.fromEntries(columns.map((c, i) => [c.name, values[i]]))
            const envelope = { before: op === 'u' || op === 'd' ? row : null, after: op === 'd' ? null : row, source: { db: 'db', ts_ns: 1_700_000_000_000_000_001n }, op, ts_ms: 1_700_000_000_000 }
            const bytes = mutate(frame(id, type.toBuffer(envelope)), m)
            const record: LogRecord = { topic: table, partition: 0, offset: 0, timestamp: 0, key: null, value: bytes, headers: {} }
            const x = outcome(() => a.decode(record))
            const y = outcome(() => b.decode(record))
            if (!sameOutcome(x, y)) throw new Error(`schema ${show(schema)}\nreader ${show(reader)}\nenvelope ${show(envelope)} ${show(m)}\nfast ${show(x)}\nreference ${show(y)}`)
            if ('value' in y) decoded++
          }
          fastDecoded += paths.filter((p) => p === 'fast').length
        },
      ),
      { seed: SEED + 2, numRuns: RUNS },
    )
    expect(fastDecoded / decoded).toBeGreaterThan(0.5)
  })
})

describe('JSON: the native parse and the exact parser agree, and the writer round-trips', () => {
  const model = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((n) => n < -(2n ** 53n) || n > 2n ** 53n),
      fc.string({ unit: 'binary' }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
    ),
  })).value

  it('parses its own output back to the same value (int64 exact, -0 kept)', () => {
    fc.assert(
      fc.property(model, (v) => {
        if (!same(parseExact(writeJson(v)), v)) throw new Error(`${writeJson(v)}`)
      }),
      { seed: SEED + 3, numRuns: RUNS * 4 },
    )
  })

  it('reads JSON.parse-able text exactly as JSON.parse when nothing is beyond 2^53', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        // A sixteen-digit run elsewhere forces the exact parser over the same text.
        const slow = (parseExact(`[${text}, "0000000000000000", 1234567890123456]`) as unknown[])[0]
        if (!sameParse(slow, JSON.parse(text))) throw new Error(text)
      }),
      { seed: SEED + 4, numRuns: RUNS * 4 },
    )
  })
})

/** The exact parse equals JSON.parse, except that an integer beyond 2^53 is a bigint whose nearest double JSON.parse gave. */
function sameParse(exact: unknown, native: unknown): boolean {
  if (typeof exact === 'bigint') return typeof native === 'number' && Number(exact) === native && !Number.isSafeInteger(native)
  if (Array.isArray(exact)) return Array.isArray(native) && exact.length === native.length && exact.every((x, i) => sameParse(x, native[i]))
  if (exact !== null && typeof exact === 'object') {
    const keys = Object.keys(exact)
    return native !== null && typeof native === 'object' && same(keys, Object.keys(native)) && keys.every((k) => sameParse((exact as Record<string, unknown>)[k], (native as Record<string, unknown>)[k]))
  }
  return same(exact, native)
}

// avsc itself, as a sanity check of the generators: every valid value of a generated schema is valid for avsc's own types too, when no long is beyond 2^53.
describe('generators', () => {
  it('produce schemas avsc accepts', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        avro.Type.forSchema(avroSchema(spec) as avro.Schema, { wrapUnions: false })
      }),
      { seed: SEED + 5, numRuns: RUNS },
    )
  })
})

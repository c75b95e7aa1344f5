import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { frame } from '../../../runtime/codec/avro/wire.ts'
import { createEnvelopeType } from '../../../runtime/codec/debezium/avro.ts'
import { readerTypeOfAvro, readerTypeOfConnect } from '../../../runtime/codec/debezium/reader-types.ts'
import { createCodec } from '../../../runtime/codec/index.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'
import { addFields, ReaderEvolution, type RecordSchema } from '../../../runtime/codec/types/additive.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { isTributaryError, TributaryError } from '../../../runtime/errors.ts'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { checkLevel } from '../../../runtime/registry/compatibility.ts'
import { avroSchema, columnArb, columnAvro, envelopeSchema, flatRecordArb, memoryRegistry, same, wireArb, type Column } from './generators.ts'

/**
 * evolution: additive (types/additive.ts): the union of a record schema with newer fields, pure,
 * over generated schemas; the reader type of each Debezium column (the README's type table); and,
 * over generated Debezium rows, that a port following an added column reads exactly what a port
 * declaring it reads, refusals included.
 */
const SEED = 20_261_202
const RUNS = Number(process.env.TRIBUTARY_PROPERTY_RUNS ?? 200)

const record = (fields: RecordSchema['fields']): RecordSchema => ({ type: 'record', name: 'Row', namespace: 'evo', fields })
const where = { code: 'TRIB_DECODE_INCOMPATIBLE' as const, where: 'test' }

/** Two flat records with some names in common (the newer one's shared fields keep their type, or change it). */
const pairArb = fc.tuple(flatRecordArb, flatRecordArb, fc.array(fc.nat(), { minLength: 8, maxLength: 8 })).map(([a, b, picks]) => {
  const base = avroSchema(a) as RecordSchema
  const newer = (avroSchema(b, { n: 100 }) as RecordSchema).fields
  // About half the newer fields take a base field's name: some keep its type, most change it.
  const taken = new Set<string>()
  const fields = newer.map((f, i) => {
    const pick = picks[i]! % (2 * base.fields.length)
    const old = base.fields[pick]
    if (old === undefined || taken.has(old.name)) return f
    taken.add(old.name)
    return pick % 3 === 0 ? { ...old } : { ...f, name: old.name }
  })
  return { base: { ...base, name: 'Row' }, newer: fields.filter((f, i) => fields.findIndex((g) => g.name === f.name) === i) }
})

function refusal(fn: () => unknown): TributaryError | undefined {
  try {
    fn()
    return undefined
  } catch (e) {
    if (e instanceof TributaryError) return e
    throw e
  }
}

describe('addFields: the union of a schema with newer fields', () => {
  it('keeps every field of the base as it is, adds each new one once as optional with default null, and is idempotent', () => {
    fc.assert(
      fc.property(pairArb, ({ base, newer }) => {
        const { schema, added } = addFields(base, newer, where)
        const names = new Set(base.fields.map((f) => f.name))
        const fresh = newer.filter((f) => !names.has(f.name))
        expect(schema.fields.slice(0, base.fields.length)).toEqual(base.fields)
        expect(schema.fields.slice(base.fields.length)).toEqual(added)
        expect(added.map((f) => f.name)).toEqual(fresh.map((f) => f.name))
        for (const f of added) {
          expect(f.default).toBeNull()
          expect((f.type as unknown[])[0]).toBe('null')
          expect((f.type as unknown[]).filter((t) => t === 'null')).toHaveLength(1)
        }
        if (added.length === 0) expect(schema).toBe(base)
        // Once more: nothing new, the same object.
        expect(addFields(schema, newer, where).schema).toBe(schema)
      }),
      { seed: SEED, numRuns: RUNS },
    )
  })

  it('gives a schema the registry accepts as a new version: it reads the old data, and old readers read it (FULL_TRANSITIVE)', () => {
    fc.assert(
      fc.property(pairArb, ({ base, newer }) => {
        const { schema } = addFields(base, newer, where)
        createType(schema)
        const result = checkLevel('FULL_TRANSITIVE', JSON.stringify(schema), [{ version: 1, schema: JSON.stringify(base) }])
        if (!result.compatible) throw new Error(`${writeJson(schema)}\n${result.messages.join('\n')}`)
      }),
      { seed: SEED + 1, numRuns: RUNS },
    )
  })

  it('refuses a changed type of a shared field when asked to check (not additive), naming the field', () => {
    let refused = 0
    fc.assert(
      fc.property(pairArb, ({ base, newer }) => {
        const changed = newer.find((f) => {
          const old = base.fields.find((b) => b.name === f.name)
          const strip = (t: unknown) => writeJson((Array.isArray(t) ? t : [t]).filter((x) => x !== 'null'))
          return old !== undefined && strip(old.type) !== strip(f.type)
        })
        const e = refusal(() => addFields(base, newer, { ...where, checkShared: true }))
        if (changed === undefined) expect(e).toBeUndefined()
        else {
          refused++
          expect(e?.code).toBe('TRIB_DECODE_INCOMPATIBLE')
          expect(e?.details?.field).toBeDefined()
          expect(e?.message).toContain(`field ${String(e?.details?.field)} changed type`)
        }
      }),
      { seed: SEED + 2, numRuns: RUNS },
    )
    expect(refused).toBeGreaterThan(RUNS / 4)
    // Nullability alone is no change; a name Avro cannot hold is refused.
    expect(addFields(record([{ name: 'a', type: 'long' }]), [{ name: 'a', type: ['null', 'long'] }], { ...where, checkShared: true }).added).toEqual([])
    expect(refusal(() => addFields(record([]), [{ name: 'my-col', type: 'string' }], where))?.message).toContain('"my-col" is not a valid Avro name')
  })

  it('a column two writers type differently is refused by the port that follows them', () => {
    const evolution = new ReaderEvolution(record([{ name: 'id', type: 'long' }]))
    evolution.readerFor([{ name: 'n', type: 'long' }], 'v2')
    evolution.readerFor([{ name: 'n', type: 'long' }, { name: 'm', type: 'string' }], 'v3')
    expect([...evolution.added]).toEqual([['n', ['null', 'long']], ['m', ['null', 'string']]])
    const e = refusal(() => evolution.readerFor([{ name: 'n', type: 'string' }], 'v4'))
    expect([e?.code, e?.details?.field]).toEqual(['TRIB_DECODE_INCOMPATIBLE', 'n'])
  })
})

describe('the reader type of a Debezium column (README: PostgreSQL through Debezium)', () => {
  it('follows the type table, for Connect schemas and for AvroConverter schemas alike', () => {
    const cases: Array<[connect: Record<string, unknown>, avro: unknown]> = [
      [{ type: 'int16' }, 'int'],
      [{ type: 'int32' }, 'int'],
      [{ type: 'int64' }, 'long'],
      [{ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '12' } }, { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }],
      [{ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2' } }, { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 2 }],
      [{ type: 'struct', name: 'io.debezium.data.VariableScaleDecimal' }, 'string'],
      [{ type: 'float32' }, 'float'],
      [{ type: 'float64' }, 'double'],
      [{ type: 'string' }, 'string'],
      [{ type: 'bytes' }, 'bytes'],
      [{ type: 'boolean' }, 'boolean'],
      [{ type: 'int32', name: 'io.debezium.time.Date' }, { type: 'int', logicalType: 'date' }],
      [{ type: 'int32', name: 'io.debezium.time.Time' }, { type: 'int', logicalType: 'time-millis' }],
      [{ type: 'int64', name: 'io.debezium.time.MicroTime' }, { type: 'long', logicalType: 'time-micros' }],
      [{ type: 'int64', name: 'io.debezium.time.Timestamp' }, { type: 'long', logicalType: 'local-timestamp-millis' }],
      [{ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, { type: 'long', logicalType: 'local-timestamp-micros' }],
      [{ type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp' }, { type: 'long', logicalType: 'timestamp-millis' }],
      [{ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }, { type: 'long', logicalType: 'timestamp-micros' }],
      [{ type: 'int64', name: 'io.debezium.time.MicroDuration' }, { type: 'long', 'connect.name': 'io.debezium.time.MicroDuration' }],
      [{ type: 'string', name: 'io.debezium.data.Uuid' }, { type: 'string', logicalType: 'uuid' }],
      [{ type: 'string', name: 'io.debezium.data.Json' }, 'string'],
      [{ type: 'string', name: 'io.debezium.data.Enum', parameters: { allowed: 'a,b' } }, 'string'],
      [{ type: 'array', items: { type: 'int32', optional: true } }, { type: 'array', items: ['null', 'int'] }],
      [{ type: 'array', items: { type: 'string', optional: true } }, { type: 'array', items: ['null', 'string'] }],
    ]
    for (const [connect, avro] of cases) {
      expect(readerTypeOfConnect(connect as never, 'c'), writeJson(connect)).toEqual(avro)
      createType({ type: 'record', name: 'R', fields: [{ name: 'c', type: ['null', avro], default: null }] })
    }
  })

  it('refuses what no reader type holds exactly, naming the column', () => {
    for (const s of [{ type: 'int64', name: 'io.debezium.time.NanoTimestamp' }, { type: 'int64', name: 'io.debezium.time.NanoTime' }, { type: 'struct', fields: [] }, { type: 'map' }])
      expect(() => readerTypeOfConnect(s as never, 'after.c')).toThrow(/^after\.c: /)
  })
})

const nanos = (c: Column) => c.kind === 'NanoTime' || c.kind === 'NanoTimestamp'
type Outcome = { value: unknown } | { code: string; message: string }
function outcome(fn: () => unknown): Outcome {
  try {
    return { value: fn() }
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message }
    return { code: 'THROWN', message: (e as Error).message }
  }
}

describe('a port that follows added columns reads what a port declaring them reads (Avro Debezium, generated rows)', () => {
  it('gives the same rows and refusals on the fast and reference paths; a column no type holds is refused, named', async () => {
    const registry = memoryRegistry()
    const codecs = [createCodec(registry, { fastPaths: true }), createCodec(registry, { fastPaths: false })]
    let n = 0
    let compared = 0
    await fc.assert(
      fc.asyncProperty(
        fc
          .uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), column: columnArb, optional: fc.boolean() }), { minLength: 1, maxLength: 6, selector: (c) => c.name })
          .chain((added) => fc.tuple(fc.constant(added), fc.array(fc.tuple(...added.map((c) => (c.optional ? fc.option(wireArb(c.column), { nil: null }) : wireArb(c.column)))), { minLength: 1, maxLength: 6 }))),
        async ([added, rows]) => {
          const table = `e${n++}`
          const columns = [{ name: 'pk', column: { kind: 'long' } as Column, optional: false }, ...added.filter((c) => c.name !== 'pk')]
          const schema = envelopeSchema(columns, table)
          const { id } = await registry.register(`${table}-value`, schema)
          const type = createEnvelopeType(schema)
          const declared = record([{ name: 'pk', type: 'long' }])
          for (const codec of codecs) await codec.prefetch([id])
          const refused = columns.find((c) => nanos(c.column))
          // The reader a person would declare, from the type table.
          const full = refused
            ? undefined
            : record(columns.map((c) => (c.name === 'pk' ? { name: 'pk', type: 'long' } : { name: c.name, type: ['null', readerTypeOfAvro(columnAvro(c.column, table, 0) as never, new Map(), c.name)], default: null })))
          for (const codec of codecs) {
            const following = codec.decoder({ format: 'avro', envelope: 'debezium', readerSchema: declared, evolution: 'additive' })
            const declaring = full && codec.decoder({ format: 'avro', envelope: 'debezium', readerSchema: full })
            for (const values of rows) {
              const row = { pk: 1, ...Object.fromEntries(added.map((c, i) => [c.name, values[i]])) }
              const envelope = { before: null, after: row, source: { db: 'db', ts_ns: null }, op: 'c', ts_ms: 1 }
              const r: LogRecord = { topic: table, partition: 0, offset: 0, timestamp: 0, key: null, value: frame(id, type.toBuffer(envelope)), headers: {} }
              const a = outcome(() => following.decode(r))
              if (refused) {
                expect(a).toMatchObject({ code: 'TRIB_DECODE_INCOMPATIBLE' })
                expect((a as { message: string }).message).toContain(`after.${refused.name}`)
                continue
              }
              const b = outcome(() => declaring!.decode(r))
              const equal = 'value' in a && 'value' in b ? same(a.value, b.value) : 'code' in a && 'code' in b && a.code === b.code && a.message === b.message
              if (!equal) throw new Error(`schema ${writeJson(schema)}\nrow ${writeJson(row)}\nfollowing ${writeJson(a)}\ndeclaring ${writeJson(b)}`)
              compared++
            }
            if (!refused) expect([...following.added!.keys()]).toEqual(columns.slice(1).map((c) => c.name))
          }
        },
      ),
      { seed: SEED + 3, numRuns: RUNS },
    )
    expect(compared).toBeGreaterThan(RUNS)
  })
})

describe('JSON without a writer schema', () => {
  it('refuses a field the reader lacks under evolution: additive, naming it (Debezium without the wrapper, and plain JSON)', () => {
    const codec = createCodec(memoryRegistry())
    const reader = record([{ name: 'id', type: 'long' }])
    const r = (value: unknown): LogRecord => ({ topic: 't', partition: 0, offset: 7, timestamp: 0, key: null, value: Buffer.from(JSON.stringify(value)), headers: {} })
    const bare = codec.decoder({ format: 'json', envelope: 'debezium', readerSchema: reader, evolution: 'additive' })
    expect(bare.decode(r({ op: 'c', before: null, after: { id: 1 }, source: {}, ts_ms: 1 })).value).toEqual({ id: 1 })
    expect(() => bare.decode(r({ op: 'c', before: null, after: { id: 1, c_new: 'x' }, source: {}, ts_ms: 1 }))).toThrow(/after\.c_new is not in the port's reader schema.*schemas\.enable/)
    const plain = codec.decoder({ format: 'json', envelope: 'none', readerSchema: reader, evolution: 'additive' })
    expect(() => plain.decode(r({ id: 1, c_new: 'x' }))).toThrow(/field c_new is not in the port's reader schema/)
    // Without evolution the declared reader decides, as before: the field is not read.
    expect(codec.decoder({ format: 'json', envelope: 'none', readerSchema: reader }).decode(r({ id: 1, c_new: 'x' })).value).toEqual({ id: 1 })
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSerde } from '../../../runtime/codec/avro/serde.ts'
import { frame, HEADER_SIZE } from '../../../runtime/codec/avro/wire.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { narrow } from '../../../runtime/codec/values/long.ts'
import { isTributaryError } from '../../../runtime/errors.ts'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'
import { UNPARTITIONED } from '../../../runtime/lake/iceberg/partition.ts'
import type { DataFile, Schema } from '../../../runtime/lake/iceberg/types.ts'
import { ColumnBatch, columnarPlan } from '../../../runtime/lake/write/avro-columns.ts'
import { writeColumnBatch, writeDuckDBFiles, writeParquetFiles } from '../../../runtime/lake/write/parquet.ts'
import { rowsToBatches } from '../../../runtime/lake/write/rows.ts'
import { avroSchema, flatRecordArb, memoryRegistry, same, timestampCount, valueArb, type Spec } from '../codec/generators.ts'
import { tempDirs, testResources } from './support.ts'

/**
 * The lake's columnar decode (VALUES.md, "Fast paths") proven equal to the reference: for random
 * flat record schemas and values with the edges, Avro bodies decoded straight into Parquet columns
 * (avro-columns.ts → writeColumnBatch) and the same bodies decoded by the reference serde into
 * canonical rows, then written by DuckDB (writeDuckDBFiles) and by the flat writer from rows
 * (writeParquetFiles), give files DuckDB reads back to the same values, with the same Iceberg
 * statistics. A body the reference refuses (truncated, trailing bytes, a flipped byte, invalid
 * UTF-8) is refused by the columnar path too, with the same code, and leaves its batch as it was.
 * Seeded, so a failure reproduces; fast-check prints the shrunk case.
 */

const SEED = 20_261_202
const RUNS = Number(process.env.TRIBUTARY_PROPERTY_RUNS ?? 100)
const tempDir = tempDirs('trib-lake-colprop-')
const lake = testResources()

type RecordSpec = Extract<Spec, { kind: 'record' }>
type Row = Record<string, unknown>

const leafOf = (t: Spec): Spec => (t.kind === 'nullable' ? t.type : t)

/**
 * The "raw" twin of a flat schema: strings (uuids too) as bytes and timestamps as longs, which Avro
 * encodes the same way, so bodies can carry what the canonical writer never writes: invalid UTF-8,
 * upper-case uuids, any 64-bit count.
 */
function rawSchema(schema: { fields: Array<{ type: unknown }> }): unknown {
  const logical = (t: unknown): string | undefined => (typeof t === 'object' && t !== null ? (t as { logicalType?: string }).logicalType : undefined)
  const raw = (t: unknown): unknown =>
    Array.isArray(t) ? t.map(raw) : t === 'string' || logical(t) === 'uuid' ? 'bytes' : logical(t)?.includes('timestamp') ? 'long' : t
  return { ...schema, fields: schema.fields.map((f) => ({ ...f, type: raw(f.type) })) }
}

const uuidArb = fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u))

/** A value for the raw twin of a leaf: strings as their UTF-8 bytes. */
function rawValueArb(t: Spec): fc.Arbitrary<unknown> {
  if (t.kind === 'nullable') return fc.option(rawValueArb(t.type), { nil: null, freq: 4 })
  if (t.kind === 'string') return valueArb(t, 0).map((s) => Buffer.from(s as string, 'utf8'))
  if (t.kind === 'uuid') return uuidArb.map((u) => Buffer.from(u, 'ascii'))
  if (t.kind.includes('timestamp')) return timestampCount
  return valueArb(t, 0)
}

const caseArb = flatRecordArb.chain((spec) =>
  fc.tuple(fc.constant(spec), fc.array(fc.record(Object.fromEntries(spec.fields.map((f) => [f.name, rawValueArb(f.type)]))), { minLength: 1, maxLength: 40 })),
)

interface Case {
  schema: { type: 'record'; name: string; fields: Array<{ name: string; type: unknown }> }
  table: Schema
  raw: ReturnType<typeof createType>
  id: number
  serde: ReturnType<typeof createSerde>
}

async function prepare(spec: RecordSpec): Promise<Case> {
  const schema = avroSchema(spec) as Case['schema']
  const registry = memoryRegistry()
  const { id } = await registry.register('t-value', schema)
  const serde = createSerde(registry, { fastPaths: false })
  await serde.prefetch([id])
  return { schema, table: avroToIcebergSchema(schema).schema, raw: createType(rawSchema(schema) as object), id, serde }
}

/**
 * Reads a file back in forms that keep every value exactly: int64 as bigint, floats with -0 and
 * NaN, dates and timestamps as their day and microsecond counts (DuckDB cannot print every count
 * a 64-bit timestamp holds), decimals as text.
 */
async function readBack(file: DataFile, table: Schema): Promise<unknown[][]> {
  const conn = await lake.duckdb.connect()
  try {
    const cols = table.fields.map((f) => {
      const c = `"${f.name}"`
      if (['boolean', 'int', 'long', 'float', 'double', 'string', 'date', 'timestamp', 'timestamptz'].includes(f.type as string)) return c
      return f.type === 'binary' ? `hex(${c})` : `CAST(${c} AS VARCHAR)`
    })
    const rows = (await conn.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet('${new URL(file.filePath).pathname}') ORDER BY file_row_number`)).getRows()
    const count = (v: unknown) => (v !== null && typeof v === 'object' ? ((v as { micros?: bigint }).micros ?? (v as { days?: number }).days) : v)
    return rows.map((r) => r.map(count))
  } finally {
    conn.closeSync()
  }
}

const hex = (m: Map<number, Buffer> | undefined) => [...(m ?? [])].map(([id, b]) => [id, b.toString('hex')])
const statsOf = (f: DataFile) => ({
  recordCount: f.recordCount,
  valueCounts: [...(f.valueCounts ?? [])],
  nullValueCounts: [...(f.nullValueCounts ?? [])],
  nanValueCounts: [...(f.nanValueCounts ?? [])],
  lowerBounds: hex(f.lowerBounds),
  upperBounds: hex(f.upperBounds),
})

const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : Buffer.isBuffer(x) ? `0x${x.toString('hex')}` : x))

/**
 * What the reference says of a body: its canonical row, or the code it refuses it with. With
 * `table`, also whether the lake's writers take the row (TRIB_LAKE_ROW_INVALID: a decimal beyond
 * its precision, millis beyond 64-bit micros), which the columnar path checks as it decodes.
 */
function reference(c: Case, body: Buffer, table = false): { row: Row } | { code: string } {
  try {
    const row = c.serde.decode(body).value as Row
    if (table) rowsToBatches(c.table, UNPARTITIONED, [row], 'colprop')
    return { row }
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code }
    throw e
  }
}

/** The read-back value a canonical value of a plain column must be (undefined: compared only between files). */
function expected(type: Spec, v: unknown): unknown {
  if (v === null) return null
  switch (leafOf(type).kind) {
    case 'long':
      return typeof v === 'bigint' ? v : BigInt(v as number)
    case 'boolean':
    case 'int':
    case 'float':
    case 'double':
    case 'string':
    case 'uuid':
    case 'enum':
      return v
    case 'decimal':
      // DuckDB prints a decimal whose precision is its scale without the 0: '.5', '-.5'.
      return (v as string).replace(/^(-?)0\./, (leafOf(type) as { precision: number; scale: number }).precision === (leafOf(type) as { scale: number }).scale ? '$1.' : '$10.')
    case 'bytes':
      return (v as Buffer).toString('hex').toUpperCase()
    default:
      return undefined
  }
}

describe('the columnar lake path equals the reference (decode → Parquet → DuckDB)', () => {
  it('writes the values and statistics of the reference path, over random flat schemas and edge values', async () => {
    let refusedRows = 0
    await fc.assert(
      fc.asyncProperty(caseArb, async ([spec, rawRows]) => {
        const c = await prepare(spec)
        const plan = columnarPlan(c.schema, c.table)
        if (!plan) throw new Error(`no columnar plan for ${show(c.schema)}`)
        const bodies = rawRows.map((r) => frame(c.id, c.raw.toBuffer(r)))
        const rows = bodies.map((b) => reference(c, b))
        const refused = rows.findIndex((r) => 'code' in r)
        if (refused >= 0) throw new Error(`the reference refuses a valid row: ${show(rows[refused])} ${show(rawRows[refused])}`)
        let canonical = rows.map((r) => (r as { row: Row }).row)
        const batch = new ColumnBatch(c.table)
        // A row the table cannot hold (millis beyond 64-bit micros) the reference refuses when writing, the columnar path when decoding.
        const fastRefused: number[] = []
        bodies.forEach((b, i) => {
          try {
            plan.append(batch, b, HEADER_SIZE, b.length)
          } catch (e) {
            if (!isTributaryError(e, 'TRIB_DECODE_AVRO')) throw e
            fastRefused.push(i)
          }
        })
        const storage = await lake.storage.open(tempDir())
        const original = canonical
        const refRefused: number[] = []
        let duck: DataFile | undefined
        for (;;) {
          try {
            ;[duck] = await writeDuckDBFiles(lake, storage, { schema: c.table, spec: UNPARTITIONED, rows: canonical })
            break
          } catch (e) {
            if (!isTributaryError(e, 'TRIB_LAKE_ROW_INVALID')) throw e
            const row = canonical[(e.details as { row: number }).row]!
            refRefused.push(original.indexOf(row))
            canonical = canonical.filter((r) => r !== row)
          }
        }
        if (!same(fastRefused, refRefused.sort((a, b) => a - b))) throw new Error(`refused: columnar ${show(fastRefused)}, reference writer ${show(refRefused)}\nschema ${show(c.schema)}\nrows ${show(original)}`)
        refusedRows += refRefused.length
        if (canonical.length === 0) return
        const fast = await writeColumnBatch(lake, storage, batch)
        const [flat] = await writeParquetFiles(lake, storage, { schema: c.table, spec: UNPARTITIONED, rows: canonical })
        const [gotFast, gotDuck, gotFlat] = await Promise.all([readBack(fast, c.table), readBack(duck!, c.table), readBack(flat!, c.table)])
        const context = () => `schema ${show(c.schema)}\nrows ${show(canonical)}`
        if (!same(gotFast, gotDuck)) throw new Error(`columnar ${show(gotFast)}\nDuckDB ${show(gotDuck)}\n${context()}`)
        if (!same(gotFlat, gotDuck)) throw new Error(`flat ${show(gotFlat)}\nDuckDB ${show(gotDuck)}\n${context()}`)
        // Not only equal to each other: equal to the canonical values, where those print alike.
        canonical.forEach((row, r) =>
          spec.fields.forEach((f, i) => {
            const want = expected(f.type, row[f.name])
            if (want !== undefined && !same(gotFast[r]![i], want)) throw new Error(`row ${r} ${f.name}: read ${show(gotFast[r]![i])}, canonical ${show(row[f.name])}\n${context()}`)
          }),
        )
        expect(statsOf(fast), context()).toEqual(statsOf(duck!))
        expect(statsOf(flat!), context()).toEqual(statsOf(duck!))
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    )
  })

  it('refuses what the reference refuses, with its code, and leaves the batch as it was', async () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('trail' as const), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('utf8' as const), field: fc.nat(), bytes: fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0x61, 0x80]) }),
    )
    let refusals = 0
    let utf8 = 0
    await fc.assert(
      fc.asyncProperty(caseArb, fc.array(fc.tuple(fc.nat(), damage), { minLength: 1, maxLength: 6 }), async ([spec, rawRows], damages) => {
        const c = await prepare(spec)
        const plan = columnarPlan(c.schema, c.table)!
        const batch = new ColumnBatch(c.table)
        const accepted: Buffer[] = []
        for (const [pick, d] of damages) {
          const rawRow = { ...rawRows[pick % rawRows.length]! }
          let body: Buffer
          if (d.kind === 'utf8') {
            const strings = spec.fields.filter((f) => leafOf(f.type).kind === 'string' && rawRow[f.name] !== null)
            if (strings.length === 0) continue
            const f = strings[d.field % strings.length]!
            rawRow[f.name] = Buffer.concat([rawRow[f.name] as Buffer, Buffer.from(d.bytes)])
            body = frame(c.id, c.raw.toBuffer(rawRow))
          } else {
            const good = frame(c.id, c.raw.toBuffer(rawRow))
            if (d.kind === 'truncate') body = good.subarray(0, HEADER_SIZE + (d.at % (good.length - HEADER_SIZE)))
            else if (d.kind === 'trail') body = Buffer.concat([good, Buffer.from([d.byte])])
            else {
              body = Buffer.from(good)
              if (body.length > HEADER_SIZE) body[HEADER_SIZE + (d.at % (body.length - HEADER_SIZE))] = d.byte
            }
          }
          const ref = reference(c, body, true)
          const before = batch.rows
          let fastCode: string | undefined
          try {
            plan.append(batch, body, HEADER_SIZE, body.length)
          } catch (e) {
            fastCode = isTributaryError(e) ? e.code : `THROWN ${(e as Error).message}`
          }
          let keyCode: string | undefined
          try {
            plan.values(body, HEADER_SIZE, body.length, spec.fields.map((f) => f.name))
          } catch (e) {
            keyCode = isTributaryError(e) ? e.code : `THROWN ${(e as Error).message}`
          }
          const context = `schema ${show(c.schema)}\nbody ${body.toString('hex')}\nreference ${show(ref)}`
          if ('code' in ref) {
            refusals++
            if (ref.code === 'TRIB_DECODE_UTF8') utf8++
            // A row the lake cannot hold the columnar path refuses while decoding; values() reads no column, so it may take it.
            const lakeRefusal = ref.code === 'TRIB_LAKE_ROW_INVALID' && fastCode === 'TRIB_DECODE_AVRO' && (keyCode === undefined || keyCode === fastCode)
            if (!lakeRefusal && (fastCode !== ref.code || keyCode !== ref.code)) throw new Error(`columnar: append ${fastCode ?? 'accepted'}, values ${keyCode ?? 'accepted'}\n${context}`)
            if (batch.rows !== before) throw new Error(`a refused body changed the batch\n${context}`)
          } else {
            if (fastCode !== undefined || keyCode !== undefined) throw new Error(`columnar refuses what the reference reads: ${fastCode ?? keyCode}\n${context}`)
            accepted.push(body)
          }
        }
        expect(batch.rows).toBe(accepted.length)
        if (accepted.length === 0) return
        // What was accepted beside the refusals is written as the reference writes it.
        const storage = await lake.storage.open(tempDir())
        const canonical = accepted.map((b) => c.serde.decode(b).value as Row)
        const fast = await writeColumnBatch(lake, storage, batch)
        const [duck] = await writeDuckDBFiles(lake, storage, { schema: c.table, spec: UNPARTITIONED, rows: canonical })
        const [gotFast, gotDuck] = await Promise.all([readBack(fast, c.table), readBack(duck!, c.table)])
        if (!same(gotFast, gotDuck)) throw new Error(`columnar ${show(gotFast)}\nDuckDB ${show(gotDuck)}\nschema ${show(c.schema)}`)
        expect(statsOf(fast)).toEqual(statsOf(duck!))
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    )
    // The damage reached the cases it is for: refusals happened, invalid UTF-8 among them.
    expect(refusals).toBeGreaterThan(RUNS / 2)
    expect(utf8).toBeGreaterThan(0)
  })
})

import avsc from 'avsc'
import { describe, expect, it } from 'vitest'
import { columnarPlan, ColumnBatch } from '../../../runtime/lake/write/avro-columns.ts'
import { writeColumnBatch, writeParquetFiles } from '../../../runtime/lake/write/parquet.ts'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'
import type { DataFile, Schema } from '../../../runtime/lake/iceberg/types.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { tempDirs, testResources } from './support.ts'

/**
 * The columnar path (Avro bytes → Parquet columns) must write what the canonical path (decoded
 * rows → DuckDB) writes: the same values read back, the same Iceberg statistics.
 */
const avro = {
  type: 'record',
  name: 'Wide',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'flag', type: 'boolean' },
    { name: 'small', type: 'int' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'at_us', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }], default: null },
    { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'ratio', type: 'float' },
    { name: 'score', type: [{ type: 'double' }, 'null'] },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'uid', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'blob', type: ['null', 'bytes'], default: null },
    { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['FREE', 'PRO', 'TEAM'] } },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
    { name: 'total', type: ['null', { type: 'fixed', name: 'Total', size: 8, logicalType: 'decimal', precision: 18, scale: 3 }], default: null },
  ],
}
const type = createType(avro)
const schema = avroToIcebergSchema(avro).schema
const tempDir = tempDirs('trib-lake-columnar-')
const lake = testResources()
const frame = (value: unknown): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), type.toBuffer(value)])

function row(i: number): Record<string, unknown> {
  return {
    id: i === 3 ? 2 ** 52 + 1 : i === 4 ? -(2 ** 50) : i * 1_000_003 - 7,
    flag: i % 3 === 0,
    small: (i % 2 ? -1 : 1) * i * 977,
    day: `2024-0${1 + (i % 9)}-1${i % 10}`,
    at_ms: new Date(Date.UTC(2024, i % 12, 1 + (i % 28), i % 24, 0, 0, i)).toISOString(),
    at_us: i % 4 === 0 ? null : `2023-12-31T23:59:59.${String(100_000 + i).padStart(6, '0')}Z`,
    local: `2024-02-29T12:00:00.${String(i).padStart(6, '0')}`,
    ratio: i === 5 ? Number.NaN : i / 8,
    score: i % 5 === 0 ? null : i === 7 ? Number.NaN : -i * 1.5,
    name: i % 3 === 1 ? null : ['ä', 'zeta', 'alpha', '', 'x'.repeat(40), 'Ωmega'][i % 6],
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    blob: i % 2 ? Buffer.from([i, 0, 255]) : null,
    tier: ['FREE', 'PRO', 'TEAM'][i % 3],
    price: `${i % 2 ? '-' : ''}${(i * 2477) % 10_000}.${String(i % 100).padStart(2, '0')}`,
    total: i % 6 === 0 ? null : i === 1 ? '999999999999999.999' : i === 2 ? '-999999999999999.999' : `${i * 12_345_678_901}.5`,
  }
}
const rows = Array.from({ length: 40 }, (_, i) => row(i))

async function readBack(file: DataFile): Promise<unknown[][]> {
  const conn = await lake.duckdb.connect()
  try {
    const path = new URL(file.filePath).pathname
    const cols = schema.fields.map((f) => `CAST("${f.name}" AS VARCHAR)`).join(', ')
    return (await conn.runAndReadAll(`SELECT ${cols} FROM read_parquet('${path}') ORDER BY CAST(id AS VARCHAR)`)).getRows()
  } finally {
    conn.closeSync()
  }
}

const statsOf = (f: DataFile) => ({
  recordCount: f.recordCount,
  valueCounts: [...(f.valueCounts ?? [])],
  nullValueCounts: [...(f.nullValueCounts ?? [])],
  nanValueCounts: [...(f.nanValueCounts ?? [])],
  lowerBounds: [...(f.lowerBounds ?? [])].map(([id, b]) => [id, b.toString('hex')]),
  upperBounds: [...(f.upperBounds ?? [])].map(([id, b]) => [id, b.toString('hex')]),
})

describe('columnar lake path', () => {
  it('writes the values and statistics the canonical path writes', async () => {
    const storage = await lake.storage.open(tempDir())
    const plan = columnarPlan(avro, schema)!
    expect(plan).toBeDefined()
    const batch = new ColumnBatch(schema)
    for (const r of rows) {
      const buf = frame(r)
      plan.append(batch, buf, 5, buf.length)
    }
    const fast = await writeColumnBatch(lake, storage, batch)
    const canonical = rows.map((r) => type.fromBuffer(type.toBuffer(r)) as Record<string, unknown>)
    const [slow] = await writeParquetFiles(lake, storage, { schema, spec: { 'spec-id': 0, fields: [] }, rows: canonical })
    expect(await readBack(fast)).toEqual(await readBack(slow!))
    expect(statsOf(fast)).toEqual(statsOf(slow!))
    expect(fast.recordCount).toBe(40)
  })

  it('leaves the batch as it was when a body does not decode', async () => {
    const plan = columnarPlan(avro, schema)!
    const batch = new ColumnBatch(schema)
    const good = frame(rows[1])
    plan.append(batch, good, 5, good.length)
    for (const bad of [good.subarray(0, good.length - 3), Buffer.concat([good, Buffer.from([7])]), Buffer.from([0, 0, 0, 0, 1, 0x80])]) {
      expect(() => plan.append(batch, bad, 5, bad.length)).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_AVRO' }))
      expect(() => plan.values(bad, 5, bad.length, ['id'])).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_AVRO' }))
    }
    const next = frame(rows[2])
    plan.append(batch, next, 5, next.length)
    expect(batch.rows).toBe(2)
    const file = await writeColumnBatch(lake, await lake.storage.open(tempDir()), batch)
    expect((await readBack(file)).map((r) => r[0])).toEqual([String(rows[1]!.id), String(rows[2]!.id)].sort())
  })

  it('gives key values as the canonical path prints them, or nothing when it cannot', () => {
    const plan = columnarPlan(avro, schema)!
    const buf = frame(rows[2])
    expect(plan.values(buf, 5, buf.length, ['id'])).toEqual([rows[2]!.id])
    expect(plan.values(buf, 5, buf.length, ['uid', 'tier', 'small'])).toEqual([rows[2]!.uid, 'TEAM', rows[2]!.small])
    // Timestamps print as ISO text: such keys take the canonical path.
    expect(plan.values(buf, 5, buf.length, ['at_ms'])).toBeUndefined()
  })

  it('keeps longs beyond 2^53 exact (the canonical decoder refuses them)', async () => {
    const schema64 = { type: 'record', name: 'L', fields: [{ name: 'id', type: 'long' }, { name: 'n', type: ['null', 'long'], default: null }] }
    const bigLong = avsc.types.LongType.__with({
      fromBuffer: (b: Buffer) => b.readBigInt64LE(),
      toBuffer: (n: bigint) => {
        const b = Buffer.alloc(8)
        b.writeBigInt64LE(n)
        return b
      },
      fromJSON: BigInt,
      toJSON: Number,
      isValid: (n: unknown) => typeof n === 'bigint',
      compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
    })
    const t64 = avsc.Type.forSchema(schema64 as avsc.Schema, { registry: { long: bigLong } })
    const table = avroToIcebergSchema(schema64).schema
    const plan = columnarPlan(schema64, table)!
    const batch = new ColumnBatch(table)
    const values = [2n ** 60n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 5n]
    for (const v of values) {
      const buf = Buffer.concat([Buffer.alloc(5), t64.toBuffer({ id: v, n: v === 5n ? null : -v / 3n })])
      plan.append(batch, buf, 5, buf.length)
      if (v !== 5n) expect(plan.values(buf, 5, buf.length, ['id'])).toBeUndefined()
    }
    const file = await writeColumnBatch(lake, await lake.storage.open(tempDir()), batch)
    const conn = await lake.duckdb.connect()
    try {
      const got = (await conn.runAndReadAll(`SELECT id, n FROM read_parquet('${new URL(file.filePath).pathname}')`)).getRows()
      expect(got).toEqual(values.map((v) => [v, v === 5n ? null : -v / 3n]))
    } finally {
      conn.closeSync()
    }
    expect(file.lowerBounds?.get(1)?.readBigInt64LE(0)).toBe(-(2n ** 63n))
    expect(file.upperBounds?.get(1)?.readBigInt64LE(0)).toBe(2n ** 63n - 1n)
    expect(file.nullValueCounts?.get(2)).toBe(1)
  })

  it('has no plan for what only the canonical path writes', () => {
    const wrap = (type: unknown) => ({ type: 'record', name: 'R', fields: [{ name: 'a', type }] })
    const unsupported = [
      { type: 'bytes', logicalType: 'decimal', precision: 19, scale: 2 },
      { type: 'record', name: 'Inner', fields: [{ name: 'x', type: 'int' }] },
      { type: 'array', items: 'int' },
      { type: 'map', values: 'int' },
      ['null', 'int', 'string'],
      { type: 'int', logicalType: 'time-millis' },
      { type: 'long', 'connect.name': 'io.debezium.time.Timestamp' },
    ]
    for (const t of unsupported) {
      let table: Schema
      try {
        table = avroToIcebergSchema(wrap(t)).schema
      } catch {
        continue
      }
      expect(columnarPlan(wrap(t), table), JSON.stringify(t)).toBeUndefined()
    }
    // A writer schema that lacks a required table column, or disagrees on a type, has no plan.
    const table = avroToIcebergSchema(wrap('long')).schema
    expect(columnarPlan(wrap('string'), table)).toBeUndefined()
    expect(columnarPlan({ type: 'record', name: 'R', fields: [] }, table)).toBeUndefined()
    // An older writer (int) into a promoted column (long) has one.
    expect(columnarPlan(wrap('int'), table)).toBeDefined()
  })

  it('resolves an older writer only when resolution is trivial', async () => {
    const v1 = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'gone', type: 'string' }] }
    const v2 = (extra: object) => ({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'added', type: ['null', 'string'], ...extra }] })
    const table = avroToIcebergSchema({ ...v2({ default: null }), fields: [...v2({ default: null }).fields, { name: 'gone', type: ['null', 'string'], default: null }] }).schema
    const plan = columnarPlan(v1, table, v2({ default: null }))!
    expect(plan).toBeDefined()
    const batch = new ColumnBatch(table)
    const body = Buffer.concat([Buffer.alloc(5), createType(v1).toBuffer({ id: 7, gone: 'x' })])
    plan.append(batch, body, 5, body.length)
    const file = await writeColumnBatch(lake, await lake.storage.open(tempDir()), batch)
    const conn = await lake.duckdb.connect()
    try {
      // As Avro resolution reads it: id promoted, `added` its null default, `gone` dropped by the reader.
      expect((await conn.runAndReadAll(`SELECT id, added, gone FROM read_parquet('${new URL(file.filePath).pathname}')`)).getRows()).toEqual([[7n, null, null]])
    } finally {
      conn.closeSync()
    }
    // A default other than null, or an alias, is left to the canonical path.
    expect(columnarPlan(v1, table, { ...v2({}), fields: [{ name: 'id', type: 'long' }, { name: 'added', type: ['string', 'null'], default: 'n/a' }] })).toBeUndefined()
    expect(columnarPlan(v1, table, { ...v2({ default: null }), fields: [{ name: 'id', type: 'long', aliases: ['key'] }, ...v2({ default: null }).fields.slice(1)] })).toBeUndefined()
  })
})

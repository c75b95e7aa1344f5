import { describe, expect, it } from 'vitest'
import { queryToDataFile, writeDuckDBFiles, writeParquetFiles } from '../../../runtime/lake/write/parquet.ts'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'
import { POSITION_DELETE_SCHEMA } from '../../../runtime/lake/iceberg/schema-types.ts'
import { UNPARTITIONED } from '../../../runtime/lake/iceberg/partition.ts'
import type { DataFile, Schema } from '../../../runtime/lake/iceberg/types.ts'
import { tempDirs, testResources } from './support.ts'

/**
 * The lake's two Parquet writers (the flat writer for tables of primitive columns, DuckDB for
 * nested ones and as the reference) keep every value exactly and describe it exactly: int64 beyond
 * 2^53, -0.0 and NaN, decimals of 38 digits, times, and the schema's requiredness in the file.
 */
const tempDir = tempDirs('trib-lake-writers-')
const lake = testResources()

const avro = {
  type: 'record',
  name: 'Edges',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'n', type: ['null', 'long'], default: null },
    { name: 'd', type: 'double' },
    { name: 'f', type: ['null', 'float'], default: null },
    { name: 'wide', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 10 } },
    { name: 'mid', type: ['null', { type: 'fixed', name: 'Mid', size: 9, logicalType: 'decimal', precision: 20, scale: 2 }], default: null },
    { name: 'at', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 's', type: 'string' },
  ],
}
const { schema } = avroToIcebergSchema(avro)

const rows: Record<string, unknown>[] = [
  { id: 2n ** 63n - 1n, n: -(2n ** 63n), d: -0, f: 0, wide: '9999999999999999999999999999.9999999999', mid: '-999999999999999999.99', at: '23:59:59.999999', s: 'ä' },
  { id: -(2n ** 63n), n: 2 ** 53 - 1, d: 0, f: -0, wide: '-9999999999999999999999999999.9999999999', mid: null, at: '00:00:00.000000', s: '' },
  { id: Number.MAX_SAFE_INTEGER, n: null, d: Number.NaN, f: Number.NaN, wide: '0.0000000001', mid: '0.01', at: '12:00:00.000001', s: '😀' },
  { id: -Number.MAX_SAFE_INTEGER, n: 9_007_199_254_740_993n, d: Number.POSITIVE_INFINITY, f: Number.NEGATIVE_INFINITY, wide: '-0.0000000001', mid: '1.00', at: '00:00:00.000001', s: 'z' },
  { id: 0, n: 0, d: -0, f: null, wide: '0', mid: '0', at: '06:30:00.000000', s: 'a' },
]

async function readBack(file: DataFile, s: Schema = schema): Promise<unknown[][]> {
  const conn = await lake.duckdb.connect()
  try {
    // Exact forms: BIGINT as bigint, decimals and times as text, floats with their sign.
    const cols = s.fields.map((f) => (f.type === 'double' || f.type === 'float' ? `"${f.name}", signbit("${f.name}")` : f.type === 'long' ? `"${f.name}"` : `CAST("${f.name}" AS VARCHAR)`))
    return (await conn.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet('${new URL(file.filePath).pathname}') ORDER BY file_row_number`)).getRows() as unknown[][]
  } finally {
    conn.closeSync()
  }
}

async function repetition(file: DataFile): Promise<Record<string, string>> {
  const conn = await lake.duckdb.connect()
  try {
    const r = await conn.runAndReadAll(`SELECT name, repetition_type FROM parquet_schema('${new URL(file.filePath).pathname}') WHERE name <> 'duckdb_schema' AND name <> 'schema'`)
    return Object.fromEntries(r.getRows().map(([n, t]) => [String(n), String(t)]))
  } finally {
    conn.closeSync()
  }
}

const hex = (m: Map<number, Buffer> | undefined) => [...(m ?? [])].map(([id, b]) => [id, b.toString('hex')])

describe('the lake writers keep values exactly', () => {
  it('flat writer: the same values as DuckDB writes, and the same statistics', async () => {
    const storage = await lake.storage.open(tempDir())
    const [flat] = await writeParquetFiles(lake, storage, { schema, spec: UNPARTITIONED, rows })
    const [duck] = await writeDuckDBFiles(lake, storage, { schema, spec: UNPARTITIONED, rows })
    const back = await readBack(flat!)
    expect(back).toEqual(await readBack(duck!))
    expect(back.map((r) => r[0])).toEqual([2n ** 63n - 1n, -(2n ** 63n), BigInt(Number.MAX_SAFE_INTEGER), -BigInt(Number.MAX_SAFE_INTEGER), 0n])
    expect(back.map((r) => r[1])).toEqual([-(2n ** 63n), 2n ** 53n - 1n, null, 9_007_199_254_740_993n, 0n])
    // -0.0 keeps its sign, NaN and the infinities stay.
    expect(back.map((r) => [r[2], r[3]])).toEqual([[-0, true], [0, false], [Number.NaN, false], [Number.POSITIVE_INFINITY, false], [-0, true]])
    expect(back.map((r) => r[6])).toEqual(['9999999999999999999999999999.9999999999', '-9999999999999999999999999999.9999999999', '0.0000000001', '-0.0000000001', '0.0000000000'])
    expect(back.map((r) => r[7])).toEqual(['-999999999999999999.99', null, '0.01', '1.00', '0.00'])
    expect(back.map((r) => r[8])).toEqual(['23:59:59.999999', '00:00:00', '12:00:00.000001', '00:00:00.000001', '06:30:00'])
    for (const k of ['recordCount', 'valueCounts', 'nullValueCounts', 'nanValueCounts'] as const) expect(flat![k], k).toEqual(duck![k])
    expect(hex(flat!.lowerBounds)).toEqual(hex(duck!.lowerBounds))
    expect(hex(flat!.upperBounds)).toEqual(hex(duck!.upperBounds))
  })

  it('bounds follow Iceberg: exact int64, -0 below 0, NaN never a bound but counted', async () => {
    const [file] = await writeParquetFiles(lake, await lake.storage.open(tempDir()), { schema, spec: UNPARTITIONED, rows })
    const id = (name: string) => schema.fields.find((f) => f.name === name)!.id
    expect(file!.lowerBounds!.get(id('id'))!.readBigInt64LE(0)).toBe(-(2n ** 63n))
    expect(file!.upperBounds!.get(id('id'))!.readBigInt64LE(0)).toBe(2n ** 63n - 1n)
    expect(file!.upperBounds!.get(id('n'))!.readBigInt64LE(0)).toBe(9_007_199_254_740_993n)
    // d holds -0, 0, NaN, +Infinity, -0: lower -0, upper +Infinity, one NaN.
    expect(Object.is(file!.lowerBounds!.get(id('d'))!.readDoubleLE(0), -0)).toBe(true)
    expect(file!.upperBounds!.get(id('d'))!.readDoubleLE(0)).toBe(Number.POSITIVE_INFINITY)
    expect(file!.nanValueCounts!.get(id('d'))).toBe(1)
    // f holds 0, -0, NaN, -Infinity, null: lower -Infinity, upper +0 (not -0).
    expect(file!.lowerBounds!.get(id('f'))!.readFloatLE(0)).toBe(Number.NEGATIVE_INFINITY)
    expect(Object.is(file!.upperBounds!.get(id('f'))!.readFloatLE(0), 0)).toBe(true)
    // Decimals: the unscaled value in its fewest bytes.
    expect(BigInt(`0x${file!.upperBounds!.get(id('wide'))!.toString('hex')}`)).toBe(99999999999999999999999999999999999999n)
    const zeros = [{ ...rows[4]!, d: -0 }, { ...rows[4]!, d: -0 }]
    const [onlyNegative] = await writeParquetFiles(lake, await lake.storage.open(tempDir()), { schema, spec: UNPARTITIONED, rows: zeros })
    const [duck] = await writeDuckDBFiles(lake, await lake.storage.open(tempDir()), { schema, spec: UNPARTITIONED, rows: zeros })
    for (const f of [onlyNegative!, duck!]) {
      expect(Object.is(f.lowerBounds!.get(id('d'))!.readDoubleLE(0), -0)).toBe(true)
      expect(Object.is(f.upperBounds!.get(id('d'))!.readDoubleLE(0), -0)).toBe(true)
    }
  })

  it('marks required columns required, position delete files too', async () => {
    const storage = await lake.storage.open(tempDir())
    const [data] = await writeParquetFiles(lake, storage, { schema, spec: UNPARTITIONED, rows })
    expect(await repetition(data!)).toEqual({ id: 'REQUIRED', n: 'OPTIONAL', d: 'REQUIRED', f: 'OPTIONAL', wide: 'REQUIRED', mid: 'OPTIONAL', at: 'REQUIRED', s: 'REQUIRED' })
    const [deletes] = await writeParquetFiles(lake, storage, { schema: POSITION_DELETE_SCHEMA, spec: UNPARTITIONED, rows: [{ file_path: data!.filePath, pos: 3 }], content: 1, fullStringBounds: true })
    expect(await repetition(deletes!)).toEqual({ file_path: 'REQUIRED', pos: 'REQUIRED' })
    expect(deletes!.lowerBounds!.get(POSITION_DELETE_SCHEMA.fields[0]!.id)!.toString()).toBe(data!.filePath)
  })

  it('rewrites (rows read back from DuckDB) keep the values, the statistics and the requiredness', async () => {
    const storage = await lake.storage.open(tempDir())
    const [file] = await writeParquetFiles(lake, storage, { schema, spec: UNPARTITIONED, rows })
    const conn = await lake.duckdb.connect()
    let copy: DataFile
    try {
      copy = await queryToDataFile(lake, storage, conn, `SELECT * FROM read_parquet('${new URL(file!.filePath).pathname}')`, schema, 'data/rewritten.parquet')
    } finally {
      conn.closeSync()
    }
    expect(await readBack(copy)).toEqual(await readBack(file!))
    expect(await repetition(copy)).toEqual(await repetition(file!))
    for (const k of ['recordCount', 'valueCounts', 'nullValueCounts', 'nanValueCounts'] as const) expect(copy[k], k).toEqual(file![k])
    expect(hex(copy.lowerBounds)).toEqual(hex(file!.lowerBounds))
    expect(hex(copy.upperBounds)).toEqual(hex(file!.upperBounds))
  })

  it('refuses what the table cannot hold, naming the row and the field', async () => {
    const storage = await lake.storage.open(tempDir())
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...rows[0], id: 2n ** 63n }, /row 1, field id: id expects a safe integer or a 64-bit bigint/],
      [{ ...rows[0], id: 2 ** 53 }, /row 1, field id: id expects a safe integer/],
      [{ ...rows[0], s: 'a\ud800' }, /row 1, field s: s expects a string without lone surrogates/],
      [{ ...rows[0], wide: '1'.repeat(29) }, /row 1, field wide: wide expects a decimal of at most 38 digits/],
    ]
    for (const [row, message] of bad) {
      for (const write of [writeParquetFiles, writeDuckDBFiles]) {
        await expect(write(lake, storage, { schema, spec: UNPARTITIONED, rows: [rows[1]!, row] })).rejects.toMatchObject({ code: 'TRIB_LAKE_ROW_INVALID', message: expect.stringMatching(message), details: { row: 1 } })
      }
    }
  })
})

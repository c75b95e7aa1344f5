import fs from 'node:fs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatResult } from '../../../runtime/cli/commands/query.ts'
import { parseExact } from '../../../runtime/codec/json/exact.ts'
import { tableId, tableRequest } from '../../../runtime/lake/index.ts'
import { lakeTables, runQuery, type QueryResult } from '../../../runtime/query/query.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'
import { tempDir } from '../../helpers/runtime.ts'

/**
 * Query results are exact (runtime/lake/read/values.ts): every value is read from its DuckDB type,
 * never through a JavaScript number, and `tributary query --format json|csv|table` prints it
 * without loss: int64 and HUGEINT with every digit, -0.0 as -0.0, NaN and the infinities in their
 * documented form, decimals of 38 digits, timestamps far outside 1677..2262.
 */
let dir: string
let lake: TestLake
beforeAll(async () => {
  dir = tempDir('trib-query-values-')
  lake = await openTestLake(`file://${dir}`)
})
afterAll(async () => {
  await lake.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

const MAX = 2n ** 63n - 1n
const query = async (sql: string): Promise<QueryResult> => runQuery(lake.catalog, await lakeTables(lake.catalog), sql)
/** One row as an object of its columns. */
const row = (r: QueryResult, i = 0): Record<string, unknown> => Object.fromEntries(r.columns.map((c, j) => [c, r.rows[i]![j]]))

describe('query results in the value model', () => {
  it("DuckDB's own values: integers of every width exact, floats with their sign and NaN, decimals, times beyond 2262, infinity", async () => {
    const r = await query(`SELECT
      9223372036854775807::BIGINT AS max, (-9223372036854775807 - 1)::BIGINT AS min, 9007199254740993::BIGINT AS above, 9007199254740991::BIGINT AS safe,
      18446744073709551615::UBIGINT AS ubig, (-170141183460469231731687303715884105727)::HUGEINT AS huge,
      '-0.0'::DOUBLE AS nz, 'NaN'::DOUBLE AS nan, 'Infinity'::DOUBLE AS inf, '-Infinity'::DOUBLE AS ninf, '-0.0'::FLOAT AS fnz, 0.1::DOUBLE AS tenth,
      '-12345678901234567890123456789.123456789'::DECIMAL(38, 9) AS dec,
      TIMESTAMP '2500-01-01 00:00:00.000001' AS ts2500, '294246-12-31 23:59:59.999999'::TIMESTAMP AS tsmax, TIMESTAMPTZ '1500-06-01 12:00:00.5+00' AS tz1500,
      '2262-04-11 23:47:16.854775806'::TIMESTAMP_NS AS ns, '0044-03-15 (BC)'::DATE AS bc, '0044-03-15 (BC)'::DATE::TIMESTAMP + INTERVAL 12 HOUR AS tsbc, 'infinity'::TIMESTAMP AS tinf, '-infinity'::DATE AS dninf,
      '\\xDE\\xAD'::BLOB AS blob, [9223372036854775807, 1]::BIGINT[] AS list, {'n': -0.0::DOUBLE, 'i': -9223372036854775807::BIGINT} AS st`)
    const v = row(r)
    expect(v).toMatchObject({ max: MAX, min: -MAX - 1n, above: 9_007_199_254_740_993n, safe: 9_007_199_254_740_991, ubig: 2n ** 64n - 1n, huge: -(2n ** 127n - 1n) })
    expect(Object.is(v.nz, -0) && Object.is(v.fnz, -0), 'negative zero').toBe(true)
    expect(v).toMatchObject({ nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, tenth: 0.1 })
    expect(v).toMatchObject({ dec: '-12345678901234567890123456789.123456789', ts2500: '2500-01-01T00:00:00.000001', tsmax: '+294246-12-31T23:59:59.999999' })
    expect(v).toMatchObject({ tz1500: '1500-06-01T12:00:00.500000Z', ns: '2262-04-11T23:47:16.854775806', tinf: 'infinity', dninf: '-infinity' })
    // 44 BC: year -43 in the proleptic Gregorian calendar with a year 0, six digits and a sign beyond 0000..9999.
    expect(v).toMatchObject({ bc: '-000043-03-15', tsbc: '-000043-03-15T12:00:00.000000' })
    expect(Buffer.isBuffer(v.blob) && (v.blob as Buffer).toString('hex')).toBe('dead')
    expect(v.list).toEqual([MAX, 1])
    expect(Object.is((v.st as { n: number }).n, -0)).toBe(true)
    expect((v.st as { i: bigint }).i).toBe(-MAX)

    const json = formatResult(r, 'json')
    for (const text of ['"max": 9223372036854775807', '"min": -9223372036854775808', '"above": 9007199254740993', '"ubig": 18446744073709551615', '"huge": -170141183460469231731687303715884105727'])
      expect(json).toContain(text)
    for (const text of ['"nz": -0.0', '"fnz": -0.0', '"nan": "NaN"', '"inf": "Infinity"', '"ninf": "-Infinity"', '"blob": "3q0="', '"n": -0.0', '"i": -9223372036854775807']) expect(json).toContain(text)
    // Read back exactly, the same row.
    const back = (parseExact(json) as Record<string, unknown>[])[0]!
    expect(back).toMatchObject({ max: MAX, min: -MAX - 1n, above: 9_007_199_254_740_993n, huge: -(2n ** 127n - 1n), dec: v.dec, ts2500: v.ts2500, tsmax: v.tsmax, ns: v.ns, list: [MAX, 1] })

    const csv = formatResult(r, 'csv').split('\n')
    const cells = Object.fromEntries(csv[0]!.split(',').map((c, i) => [c, csv[1]!.split(',')[i]]))
    expect(cells).toMatchObject({ max: '9223372036854775807', huge: '-170141183460469231731687303715884105727', nz: '-0.0', fnz: '-0.0', nan: 'NaN', ninf: '-Infinity', blob: '3q0=', tsmax: '+294246-12-31T23:59:59.999999' })
    const table = formatResult(r, 'table')
    for (const text of ['9223372036854775807', '-0.0', 'NaN', '-Infinity', '+294246-12-31T23:59:59.999999']) expect(table).toContain(text)
  })

  it('a lake table read back: int64 at both ends, -0.0, NaN, ±Infinity, decimals of 38 digits and old timestamps as written', async () => {
    const avroSchema = {
      type: 'record',
      name: 'edges',
      fields: [
        { name: 'i', type: 'int' },
        { name: 'id', type: 'long' },
        { name: 'd', type: 'double' },
        { name: 'f', type: ['null', 'float'], default: null },
        { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 10 } },
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
      ],
    }
    const table = await lake.catalog.createTable(tableId('v', 'edges'), tableRequest({ avroSchema }))
    const rows = [
      { i: 0, id: MAX, d: -0, f: -0, dec: '9999999999999999999999999999.9999999999', ts: '1685-06-01T12:00:00.000001Z' },
      { i: 1, id: -MAX - 1n, d: Number.NaN, f: Number.NaN, dec: '-9999999999999999999999999999.9999999999', ts: '1969-12-31T23:59:59.999999Z' },
      { i: 2, id: 9_007_199_254_740_993n, d: Number.POSITIVE_INFINITY, f: Number.NEGATIVE_INFINITY, dec: '0.0000000001', ts: '2255-01-01T00:00:00.000000Z' },
      { i: 3, id: -Number.MAX_SAFE_INTEGER, d: Number.NEGATIVE_INFINITY, f: null, dec: '-0.0000000001', ts: '1970-01-01T00:00:00.000000Z' },
    ]
    await table.newSnapshot({ addRows: rows })
    const r = await query('SELECT * FROM v.edges ORDER BY i')
    expect(r.rows.length).toBe(rows.length)
    r.rows.forEach((got, n) => {
      const want = rows[n]!
      // Object.is: -0 is not 0, NaN is NaN.
      for (const [c, w] of Object.entries(want)) expect(Object.is(row(r, n)[c], w), `row ${n} ${c}: ${String(row(r, n)[c])} for ${String(w)}`).toBe(true)
      expect(got.length).toBe(Object.keys(want).length)
    })
    const json = formatResult(r, 'json')
    for (const text of ['"id": 9223372036854775807', '"id": -9223372036854775808', '"id": 9007199254740993', '"d": -0.0', '"f": -0.0', '"d": "NaN"', '"d": "Infinity"', '"f": "-Infinity"'])
      expect(json).toContain(text)
  })

  it('any int64 and any double written to the lake comes back as itself (generated)', async () => {
    const avroSchema = { type: 'record', name: 'gen', fields: [{ name: 'k', type: 'int' }, { name: 'n', type: 'long' }, { name: 'x', type: 'double' }] }
    const int64 = fc.oneof(fc.bigInt({ min: -MAX - 1n, max: MAX }), fc.constantFrom(MAX, -MAX - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 53n + 1n)).map((n) => (Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? Number(n) : n))
    let round = 0
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ n: int64, x: fc.double() }), { minLength: 1, maxLength: 50 }), async (values) => {
        const name = `t${round++}`
        const table = await lake.catalog.createTable(tableId('gen', name), tableRequest({ avroSchema }))
        await table.newSnapshot({ addRows: values.map((v, k) => ({ k, ...v })) })
        const r = await query(`SELECT n, x FROM gen.${name} ORDER BY k`)
        r.rows.forEach(([n, x], k) => {
          expect(n, `n of row ${k}`).toBe(values[k]!.n)
          expect(Object.is(x, values[k]!.x), `x of row ${k}: ${String(x)} for ${String(values[k]!.x)}`).toBe(true)
        })
        // The JSON output reads back to the same values.
        const back = parseExact(formatResult(r, 'json')) as { n: unknown; x: unknown }[]
        back.forEach(({ n, x }, k) => {
          expect(n).toBe(values[k]!.n)
          const w = values[k]!.x
          // NaN and the infinities are the strings "NaN", "Infinity", "-Infinity".
          expect(Number.isFinite(w) ? Object.is(x, w) : x === String(w), `x of row ${k} in JSON`).toBe(true)
        })
      }),
      { numRuns: 8 },
    )
  })
})

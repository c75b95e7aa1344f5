import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeProduct } from '../../../runtime/discovery/describe.ts'
import { tableId, type TableIdentifier } from '../../../runtime/lake/catalog/identifier.ts'
import { tableRequest } from '../../../runtime/lake/iceberg/create.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { lakeTables, runQuery } from '../../../runtime/query/query.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'
import { exampleMesh, productsDir } from '../../helpers/runtime.ts'

/**
 * One table's damage stays with that table (issue 8 item 6): in a lake where one table's newest
 * metadata is garbled and another lost a Parquet file, every other table is listed and queried as
 * usual, and `tributary catalog` (discovery) still describes the product. Queries see every table
 * in the lake, whether or not a configured product declares it.
 */
const avroSchema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'v', type: 'string' }] }
let dir: string
let lake: TestLake
const ids = {
  orders: tableId('shop', 'orders'),
  garbled: tableId('shop', 'garbled'),
  missing: tableId('other', 'missing'),
  profiles: tableId('user-profiles', 'profiles'),
  dlq: tableId('user-profiles', 'dlq'),
}
let missingFile: string
let garbledFile: string

async function table(id: TableIdentifier, rows: number[][]): Promise<void> {
  const t = await lake.catalog.createTable(id, tableRequest({ avroSchema }))
  for (const batch of rows) await t.newSnapshot({ addRows: batch.map((i) => ({ id: i, v: `${id.name}-${i}` })) })
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-isolation-'))
  lake = await openTestLake(`file://${dir}`)
  await table(ids.orders, [[1, 2], [3]])
  await table(ids.garbled, [[1]])
  await table(ids.missing, [[1], [2]])
  await table(ids.profiles, [[7]])
  await table(ids.dlq, [[8]])
  garbledFile = path.join(dir, 'shop', 'garbled', 'metadata', 'v2.metadata.json')
  fs.writeFileSync(garbledFile, '{"format-version": 2, "table-uuid": ')
  const missing = await lake.catalog.loadTable(ids.missing)
  missingFile = new URL((await missing.files()).data[0]!.dataFile.filePath).pathname
  fs.rmSync(missingFile)
  fs.writeFileSync(path.join(dir, 'user-profiles', 'profiles', 'metadata', 'v2.metadata.json'), 'not json')
})
afterAll(async () => {
  await lake?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('a damaged table keeps its error to itself', () => {
  it('lists every table of the lake, damaged ones included, configured or not', async () => {
    expect((await lakeTables(lake.catalog)).map((t) => t.name)).toEqual(['other.missing', 'shop.garbled', 'shop.orders', 'user-profiles.dlq', 'user-profiles.profiles'])
  })

  it('queries the other tables as usual, also next to the damaged ones in the same namespace', async () => {
    const tables = await lakeTables(lake.catalog)
    expect((await runQuery(lake.catalog, tables, 'SELECT id, v FROM shop.orders ORDER BY id')).rows).toEqual([[1, 'orders-1'], [2, 'orders-2'], [3, 'orders-3']])
    expect((await runQuery(lake.catalog, tables, 'SELECT count(*) FROM user_profiles.dlq')).rows).toEqual([[1]])
  })

  it("fails a query that reads a damaged table with that table's own error", async () => {
    const tables = await lakeTables(lake.catalog)
    await expect(runQuery(lake.catalog, tables, 'SELECT * FROM shop.garbled')).rejects.toMatchObject({
      code: 'TRIB_LAKE_CORRUPT',
      message: expect.stringMatching(/^table shop\.garbled: table metadata .*v2\.metadata\.json is not valid JSON/),
    })
    const missing = await runQuery(lake.catalog, tables, 'SELECT * FROM other.missing').then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    )
    expect(missing?.message).toContain('table other.missing')
    expect(missing?.message).toContain(path.basename(missingFile))
    // Whatever the statement reads of it (DuckDB prunes unused columns), and next to a good table.
    for (const sql of ['SELECT count(*) FROM shop.garbled', 'SELECT count(*) FROM shop.orders, shop.garbled', 'SELECT exists(SELECT 1 FROM shop.garbled)', 'SELECT count(*) FROM shop.orders LEFT JOIN shop.garbled ON true']) {
      await expect(runQuery(lake.catalog, tables, sql), sql).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT' })
    }
  })

  it('describes a product whose table is damaged, the error with that table only', async () => {
    const product = loadProduct(path.join(productsDir, 'user-profiles'))
    const described = await describeProduct(product, exampleMesh(), { catalog: lake.catalog })
    const byName = new Map(described.tables.map((t) => [t.table, t]))
    expect(byName.get('user-profiles.profiles')).toMatchObject({ snapshotId: null, error: { code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('v2.metadata.json') } })
    expect(byName.get('user-profiles.dlq')).toMatchObject({ rows: 1 })
    expect(byName.get('user-profiles.dlq')?.error).toBeUndefined()
  })
})

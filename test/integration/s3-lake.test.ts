import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditSnapshot } from '../../runtime/compactor/audit.ts'
import { tableId, tableRequest, type Table, type TableIdentifier } from '../../runtime/lake/index.ts'
import { runQuery, type LakeTable } from '../../runtime/query/query.ts'
import { pyicebergRows, pythonPath, sortBy, type Row } from '../interop/python.ts'
import { openTestLake, type TestLake } from '../helpers/lake.ts'
import { assertS3Reachable, createBucket, S3_ENDPOINT, s3Options } from './s3-server.ts'

/**
 * Iceberg tables on the real S3 test server, written with the lake API and read back by the
 * runtime's SQL (DuckDB through the local read-through cache) and by pyiceberg's S3 FileIO.
 */
const MIB = 1024 * 1024
const V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'item', type: 'string' },
    { name: 'qty', type: 'int' },
  ],
}
const V2 = { ...V1, fields: [...V1.fields, { name: 'note', type: ['null', 'string'], default: null }] }

let bucket: string
let removeBucket: () => Promise<void>
let cacheDir: string
let lake: TestLake

beforeAll(async () => {
  await assertS3Reachable()
  pythonPath()
  ;({ bucket, remove: removeBucket } = await createBucket('lake'))
  // Multipart from 5 MiB (S3's smallest part) rather than 16: the big-file test stays small.
  lake = await openTestLake(`s3://${bucket}/lake`, { s3: { ...s3Options, multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB } })
  cacheDir = lake.lake.cache.dir
  // What read_table.py hands to pyiceberg's S3 FileIO (credentials come from AWS_* already).
  process.env.TRIBUTARY_S3_ENDPOINT = S3_ENDPOINT
}, 15 * 60_000)

afterAll(async () => {
  await lake?.close()
  await removeBucket?.()
})

/** Every table here is queried as shop.orders. */
const lakeTable = (identifier: TableIdentifier): LakeTable => ({ name: 'shop.orders', product: 'shop', port: 'orders', identifier })
const query = async (id: TableIdentifier, sql: string, asOf = {}) => (await runQuery(lake.catalog, [lakeTable(id)], sql, { asOf })).rows
const cachedFiles = (): string[] => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet')) : [])
const clearCache = (): void => fs.readdirSync(cacheDir).forEach((d) => fs.rmSync(path.join(cacheDir, d), { recursive: true, force: true }))

/** (data file URI, position) of the live rows with these ids, from the runtime's own positions view. */
async function positionsOf(table: Table, ids: number[]): Promise<{ path: string; pos: number }[]> {
  const conn = await table.lake.duckdb.connect()
  try {
    const view = await table.localSql({}, { positions: true })
    const rows = (await conn.runAndReadAll(`SELECT "_file", "_pos" FROM (${view}) WHERE id IN (${ids.join(', ')})`)).getRows()
    return rows.map((r) => ({ path: String(r[0]), pos: Number(r[1]) }))
  } finally {
    conn.closeSync()
  }
}

const pyRows = (table: Table, at: Parameters<typeof pyicebergRows>[1] = {}): Row[] => sortBy(pyicebergRows(table.metadataFile, at))

describe('Iceberg tables on S3', () => {
  it('appends, upserts with position deletes, evolves, audits and compacts; runQuery and pyiceberg agree', async () => {
    const location = `s3://${bucket}/lake/shop/orders`
    const id = tableId('shop', 'orders')
    const table = await lake.catalog.createTable(id, tableRequest({ avroSchema: V1, identifierFields: ['id'], partitionBy: ['bucket[2](id)'] }))
    expect(table.metadataFile).toBe(`${location}/metadata/v1.metadata.json`)

    const first = [1, 2, 3, 4, 5, 6].map((id) => ({ id, item: `item-${id}`, qty: id * 10 }))
    const s1 = await table.newSnapshot({ addRows: first })
    const files = await table.files()
    expect(files.data.length).toBe(2)
    expect(files.data.every((f) => f.dataFile.filePath.startsWith(`${location}/data/`))).toBe(true)

    // Upsert: id 2 changes, id 3 goes; positions come from the cached files but name the S3 URIs.
    const positions = await positionsOf(table, [2, 3])
    expect(positions.map((p) => p.path.startsWith(`${location}/data/`))).toEqual([true, true])
    const s2 = await table.newSnapshot({ addRows: [{ id: 2, item: 'item-2b', qty: 21 }], deletePositions: positions })
    expect(s2.summary.operation).toBe('overwrite')
    expect((await table.files()).deletes.length).toBeGreaterThan(0)

    await table.evolveSchema(V2)
    await table.newSnapshot({ addRows: [{ id: 7, item: 'item-7', qty: 70, note: 'new' }] })

    const expected = [
      { id: 1, item: 'item-1', qty: 10, note: null },
      { id: 2, item: 'item-2b', qty: 21, note: null },
      { id: 4, item: 'item-4', qty: 40, note: null },
      { id: 5, item: 'item-5', qty: 50, note: null },
      { id: 6, item: 'item-6', qty: 60, note: null },
      { id: 7, item: 'item-7', qty: 70, note: 'new' },
    ]
    const asObjects = (rows: unknown[][]): Row[] => rows.map(([id, item, qty, note]) => ({ id, item, qty, note }))
    const sql = 'SELECT id, item, qty, note FROM shop.orders ORDER BY id'

    // Files this process wrote were seeded into the cache; after wiping it they are downloaded.
    expect(cachedFiles().length).toBeGreaterThan(0)
    clearCache()
    expect(asObjects(await query(id, sql))).toEqual(expected)
    const live = await table.files()
    expect(cachedFiles().length).toBe(live.data.length + live.deletes.length)
    expect(pyRows(table)).toEqual(expected)

    // A statement that cannot name the table fetches nothing; the sandbox still keeps to the cache.
    clearCache()
    expect(await query(id, 'SELECT 42')).toEqual([[42]])
    expect(cachedFiles()).toEqual([])
    await expect(query(id, "SELECT * FROM read_text('/etc/hostname'), shop.orders")).rejects.toMatchObject({ code: 'TRIB_QUERY_FORBIDDEN' })

    // Time travel through the same views, and pyiceberg at that snapshot.
    expect(await query(id, 'SELECT count(*), sum(qty) FROM shop.orders', { snapshotId: s1['snapshot-id'] })).toEqual([[6, 210]])
    expect(pyRows(table, { snapshotId: s1['snapshot-id'] })).toEqual(first)

    const audit = await auditSnapshot(table, table.snapshot()!['snapshot-id'], { notNull: ['item'], unique: true }, ['id'], s1['snapshot-id'])
    expect(audit).toMatchObject({ passed: true, rows: 6 })

    // A rewrite reads the S3 files through the cache and writes the compacted ones back to S3.
    const rewrite = await table.rewriteDataFiles()
    expect(rewrite.rewrittenDataFiles).toBeGreaterThan(0)
    expect((await table.files()).deletes).toEqual([])
    expect(asObjects(await query(id, sql))).toEqual(expected)
    expect(pyRows(table)).toEqual(expected)
  })

  it('loses no commit when two async writers commit to one table at once', async () => {
    const id = tableId('race', 'orders')
    await lake.catalog.createTable(id, tableRequest({ avroSchema: V1 }))
    const [a, b] = await Promise.all([lake.catalog.loadTable(id), lake.catalog.loadTable(id)])
    const write = async (t: Table, base: number): Promise<void> => {
      for (let i = 0; i < 5; i++) await t.newSnapshot({ addRows: [{ id: base + i, item: `w${base}`, qty: i }] })
    }
    await Promise.all([write(a!, 100), write(b!, 200)])
    const table = await lake.catalog.loadTable(id)
    expect(table.metadata.snapshots.length).toBe(10)
    const ids = [...[100, 101, 102, 103, 104], ...[200, 201, 202, 203, 204]]
    expect((await query(id, 'SELECT id FROM shop.orders ORDER BY id')).map((r) => r[0])).toEqual(ids)
    expect(pyRows(table).map((r) => r.id)).toEqual(ids)
  })

  it('uploads a data file above the multipart threshold in parts, and reads it back whole', async () => {
    const id = tableId('big', 'orders')
    const table = await lake.catalog.createTable(id, tableRequest({ avroSchema: V1 }))
    // Random text does not compress: about 7 MiB of Parquet, two 5 MiB parts.
    const rows = Array.from({ length: 9_000 }, (_, id) => ({ id, item: randomBytes(600).toString('base64'), qty: id % 7 }))
    await table.newSnapshot({ addRows: rows })
    const [file] = (await table.files()).data
    expect(file!.dataFile.fileSizeInBytes).toBeGreaterThan(5 * MIB)
    // A multipart object's ETag ends in -<part count>.
    const key = file!.dataFile.filePath.slice(`s3://${bucket}/`.length)
    const head = await new S3Client({ ...s3Options, region: 'us-east-1' }).send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    expect(head.ETag).toMatch(/-2"?$/)
    expect(head.ContentLength).toBe(file!.dataFile.fileSizeInBytes)

    clearCache()
    const expectedLength = rows.reduce((n, r) => n + r.item.length, 0)
    expect(await query(id, 'SELECT count(*), sum(length(item)), sum(qty) FROM shop.orders')).toEqual([[9_000, expectedLength, rows.reduce((n, r) => n + r.qty, 0)]])
    // A cached copy of the wrong size (a torn copy from elsewhere) is fetched again.
    const [cached] = cachedFiles()
    fs.truncateSync(path.join(cacheDir, cached!), 1000)
    expect((await query(id, 'SELECT count(*) FROM shop.orders'))[0]).toEqual([9_000])
    expect(fs.statSync(path.join(cacheDir, cached!)).size).toBe(file!.dataFile.fileSizeInBytes)
    const py = pyicebergRows(table.metadataFile)
    expect(py.length).toBe(9_000)
    expect(py.find((r) => r.id === 4321)?.item).toBe(rows[4321]!.item)
  })
})

import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tableId } from '../../../runtime/lake/catalog/identifier.ts'
import { tableRequest } from '../../../runtime/lake/iceberg/create.ts'
import { lakeTables, runQuery } from '../../../runtime/query/query.ts'
import { failure } from '../../helpers/runtime.ts'
import { tempDirs } from './support.ts'
import { openTestLake } from '../../helpers/lake.ts'

/**
 * One table's damage stays with that table (issue 8 item 6, issue 10 item 2): a garbled metadata
 * version, a missing manifest list, a damaged manifest, a damaged Parquet file. Each is a typed error that names the table
 * and the file (with the byte where garbage starts, and the version that is intact), never
 * retriable, and the other tables of the lake load and query as usual.
 */
const tempDir = tempDirs('trib-damage-')
const avroSchema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] }

async function lakeWithTables(): Promise<{ root: string; lake: Awaited<ReturnType<typeof openTestLake>> }> {
  const root = tempDir()
  const lake = await openTestLake(`file://${root}`)
  for (const name of ['good', 'bad']) {
    const t = await lake.catalog.createTable(tableId('shop', name), tableRequest({ avroSchema }))
    await t.newSnapshot({ addRows: [{ id: 1 }, { id: 2 }] })
    await t.newSnapshot({ addRows: [{ id: 3 }] })
  }
  return { root, lake }
}

async function goodStillWorks(lake: Awaited<ReturnType<typeof openTestLake>>): Promise<void> {
  const tables = await lakeTables(lake.catalog)
  expect(tables.map((t) => t.name)).toEqual(['shop.bad', 'shop.good'])
  expect((await runQuery(lake.catalog, tables, 'SELECT count(*) FROM shop.good')).rows).toEqual([[3]])
}

describe('a damaged table', () => {
  it('with a garbled newest metadata version: TRIB_LAKE_CORRUPT naming the file and the position, and the intact version', async () => {
    const { root, lake } = await lakeWithTables()
    try {
      const v3 = path.join(root, 'shop', 'bad', 'metadata', 'v3.metadata.json')
      const text = fs.readFileSync(v3, 'utf8')
      fs.writeFileSync(v3, `${text.slice(0, 40)}\u0000garbage${text.slice(48)}`)
      const e = await failure(lake.catalog.loadTable(tableId('shop', 'bad')))
      expect(e.code).toBe('TRIB_LAKE_CORRUPT')
      expect(e.retriable).toBe(false)
      expect(e.message).toMatch(/v3\.metadata\.json is not valid JSON \(.*position 4\d.*\); v2\.metadata\.json is intact \(the version before it\)$/)
      expect(e.details.intactVersion).toBe(`file://${path.join(root, 'shop', 'bad', 'metadata', 'v2.metadata.json')}`)
      await goodStillWorks(lake)
    } finally {
      await lake.close()
    }
  })

  it('with a missing manifest list: TRIB_LAKE_FILE_NOT_FOUND naming the table, the snapshot and the file', async () => {
    const { root, lake } = await lakeWithTables()
    try {
      const bad = await lake.catalog.loadTable(tableId('shop', 'bad'))
      const list = bad.snapshot()!['manifest-list']
      fs.rmSync(new URL(list))
      const e = await failure(bad.scan())
      expect(e.code).toBe('TRIB_LAKE_FILE_NOT_FOUND')
      expect(e.retriable).toBe(false)
      expect(e.message).toContain(`table file://${path.join(root, 'shop', 'bad')}: the manifest list of snapshot ${bad.snapshot()!['snapshot-id']} is missing`)
      expect(e.message).toContain(list)
      // The snapshot before it is intact and still reads.
      expect((await bad.scan({ snapshotId: bad.snapshot()!['parent-snapshot-id']! })).tasks).toHaveLength(1)
      const query = await failure(runQuery(lake.catalog, await lakeTables(lake.catalog), 'SELECT count(*) FROM shop.bad'))
      expect(query).toMatchObject({ code: 'TRIB_LAKE_FILE_NOT_FOUND', message: expect.stringMatching(/^table shop\.bad: /) })
      await goodStillWorks(lake)
    } finally {
      await lake.close()
    }
  })

  it('with a damaged manifest: TRIB_LAKE_CORRUPT naming the file and the byte', async () => {
    const { lake } = await lakeWithTables()
    try {
      const bad = await lake.catalog.loadTable(tableId('shop', 'bad'))
      const manifest = (await bad.files()).manifests[0]!.manifestPath
      const bytes = fs.readFileSync(new URL(manifest))
      // Cut inside the first block: the header survives, the records do not.
      fs.writeFileSync(new URL(manifest), bytes.subarray(0, bytes.length - 30))
      const e = await failure(bad.scan())
      expect(e).toMatchObject({ code: 'TRIB_LAKE_CORRUPT', retriable: false })
      expect(e.message).toMatch(new RegExp(`^${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable Avro file: truncated block at byte \\d+`))
      await goodStillWorks(lake)
    } finally {
      await lake.close()
    }
  })

  it.each([
    ['cut short', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    // DuckDB's own message does not name the file for this one.
    ['with a garbled footer', (b: Buffer) => {
      const footer = b.readUInt32LE(b.length - 8)
      return Buffer.from(b.map((x, i) => (i >= b.length - 8 - footer && i < b.length - 8 ? x ^ 0x5a : x)))
    }],
  ])('with a data file %s: TRIB_LAKE_CORRUPT naming the file and the snapshot, on every read path', async (_, damage) => {
    const { lake } = await lakeWithTables()
    try {
      const bad = await lake.catalog.loadTable(tableId('shop', 'bad'))
      const file = (await bad.files()).data[0]!.dataFile.filePath
      fs.writeFileSync(new URL(file), damage(fs.readFileSync(new URL(file))))
      const e = await failure(bad.read({}, async (view, conn) => (await conn.runAndReadAll(`SELECT count(*), max(id) FROM (${view})`)).getRows()))
      expect(e).toMatchObject({ code: 'TRIB_LAKE_CORRUPT', retriable: false, details: { file, snapshotId: bad.snapshot()!['snapshot-id'] } })
      expect(e.message).toContain(`data file ${file} (snapshot ${bad.snapshot()!['snapshot-id']} refers to it) is not readable Parquet: `)
      const query = await failure(runQuery(lake.catalog, await lakeTables(lake.catalog), 'SELECT count(*) FROM shop.bad'))
      expect(query).toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringMatching(/^table shop\.bad: .*is not readable Parquet/) })
      expect(query.message).toContain(file)
      await goodStillWorks(lake)
    } finally {
      await lake.close()
    }
  })
})

import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId, tableRequest } from '../../runtime/lake/index.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { tempDir } from '../helpers/runtime.ts'
import { assertS3Reachable, createBucket, faultProxy, S3_ENDPOINT } from './s3-server.ts'

/**
 * The runtime owns its lake (issue 15.1): three runtimes in one process, one on a local folder and
 * two on the S3 test server with their own endpoints (one of them through a proxy that records
 * what reaches it), each with its own storage clients, DuckDB and cache. Each one's requests go
 * to its own endpoint only, and closing one leaves the others working.
 */
const avroSchema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'who', type: 'string' }] }
const id = tableId('shop', 'orders')

describe('two runtimes, two lakes, one process', () => {
  const dirs: string[] = []
  const buckets: Array<{ bucket: string; remove: () => Promise<void> }> = []
  let proxy: Awaited<ReturnType<typeof faultProxy>>
  let local: Runtime
  let direct: Runtime
  let proxied: Runtime

  const open = (overrides: Record<string, unknown>): Promise<Runtime> => {
    const dataDir = tempDir('trib-runtimes-')
    dirs.push(dataDir)
    return openRuntime(loadConfig({ env: {}, flags: { dataDir, ...overrides } }))
  }
  const fill = async (runtime: Runtime, who: string): Promise<void> => {
    const table = await runtime.catalog.createTable(id, tableRequest({ avroSchema }))
    await table.newSnapshot({ addRows: [1, 2, 3].map((i) => ({ id: i, who })) })
  }
  const read = async (runtime: Runtime): Promise<unknown[][]> => (await runQuery(runtime.catalog, await lakeTables(runtime.catalog), 'SELECT id, who FROM shop.orders ORDER BY id')).rows
  const rows = (who: string) => [1, 2, 3].map((i) => [i, who])

  beforeAll(async () => {
    await assertS3Reachable()
    buckets.push(await createBucket('rt-direct'), await createBucket('rt-proxied'))
    proxy = await faultProxy(() => 'pass')
    local = await open({})
    direct = await open({ 'lake.uri': `s3://${buckets[0]!.bucket}/lake`, 'lake.s3.endpoint': S3_ENDPOINT, 'lake.s3.forcePathStyle': true })
    proxied = await open({ 'lake.uri': `s3://${buckets[1]!.bucket}/lake`, 'lake.s3.endpoint': proxy.endpoint, 'lake.s3.forcePathStyle': true })
  })
  afterAll(async () => {
    for (const r of [local, direct, proxied]) await r?.close()
    await proxy?.close()
    for (const b of buckets) await b.remove()
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })

  it('uses each lake through its own settings, side by side', async () => {
    await Promise.all([fill(local, 'local'), fill(direct, 'direct'), fill(proxied, 'proxied')])
    expect(await read(local)).toEqual(rows('local'))
    expect(await read(direct)).toEqual(rows('direct'))
    expect(await read(proxied)).toEqual(rows('proxied'))
    expect(local.catalog.uri).toMatch(/^file:\/\//)
    // Only the proxied runtime's requests went through the proxy, and all of them did.
    const seen = proxy.requests.map((r) => r.split(' ')[1]!)
    expect(seen.length).toBeGreaterThan(5)
    expect(seen.every((p) => p.startsWith(`/${buckets[1]!.bucket}`))).toBe(true)
    const table = await direct.catalog.loadTable(id)
    expect(table.location).toBe(`s3://${buckets[0]!.bucket}/lake/shop/orders`)
    // Each S3 runtime read its files through its own cache, under its own data folder.
    for (const [runtime, dir] of [[direct, dirs[1]!], [proxied, dirs[2]!]] as const) {
      const cache = path.join(dir, 'lake-cache')
      expect((await runtime.catalog.loadTable(id)).localRoot).toBe(cache)
      expect(fs.readdirSync(cache, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet'))).toHaveLength(1)
    }
  })

  it('closing one runtime releases its lake and leaves the others working', async () => {
    const table = await direct.catalog.loadTable(id)
    await local.close()
    await direct.close()
    await expect(direct.catalog.loadTable(id)).rejects.toMatchObject({ code: 'TRIB_LAKE_CLOSED' })
    await expect(table.newSnapshot({ addRows: [{ id: 4, who: 'late' }] })).rejects.toMatchObject({ code: 'TRIB_LAKE_CLOSED' })
    const before = proxy.requests.length
    const t = await proxied.catalog.loadTable(id)
    await t.newSnapshot({ addRows: [{ id: 4, who: 'proxied' }] })
    expect((await read(proxied)).map((r) => r[0])).toEqual([1, 2, 3, 4])
    expect(proxy.requests.length).toBeGreaterThan(before)
  })
})

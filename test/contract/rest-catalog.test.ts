import http from 'node:http'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccessControl } from '../../runtime/access/access.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { listen } from '../../runtime/http/server.ts'
import { tableId } from '../../runtime/lake/catalog/identifier.ts'
import { createCatalogHttpHandler } from '../../runtime/lake/catalog/rest/server.ts'
import { tableRequest } from '../../runtime/lake/iceberg/create.ts'
import { openRestTestLake, openTestLake, type TestLake } from '../helpers/lake.ts'
import { exampleMesh, tempDir } from '../helpers/runtime.ts'
import { startIcebergRestFixture, type IcebergRestFixture } from '../integration/iceberg-rest-fixture.ts'
import { catalogContract } from './catalog.contract.ts'

/**
 * The REST catalog client (connectors/catalog/rest) through the catalog contract, writes included,
 * against a third-party REST catalog: Apache Iceberg's own RESTCatalogServer (Java, from Maven
 * Central). Then against the catalog Tributary serves, which is read-only: the client reads what
 * the file catalog wrote, and its writes are refused.
 */
catalogContract('REST client against Apache Iceberg\'s REST catalog server', async () => {
  const fixture = await startIcebergRestFixture()
  const lake = await openRestTestLake({ uri: fixture.uri })
  return { catalog: lake.catalog, cleanup: async () => (await lake.close(), await fixture.stop()) }
})

describe('REST client specifics against Apache Iceberg\'s REST catalog server', () => {
  let fixture: IcebergRestFixture
  beforeAll(async () => {
    fixture = await startIcebergRestFixture()
  })
  afterAll(async () => fixture.stop())

  it('exchanges OAuth2 client credentials for a token at /v1/oauth/tokens and works with it', async () => {
    const lake = await openRestTestLake({ uri: fixture.uri, credential: 'tributary:client-secret' })
    try {
      const id = tableId(`ns-${randomUUID().slice(0, 8)}`, 't')
      await lake.catalog.createTable(id, tableRequest({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] } }))
      const table = await lake.catalog.loadTable(id)
      await table.newSnapshot({ addRows: [{ id: 7 }] })
      expect((await lake.catalog.loadTable(id)).snapshot()?.summary['added-records']).toBe('1')
    } finally {
      await lake.close()
    }
  })

  it('keeps data files at the location the catalog chose, under its warehouse', async () => {
    const lake = await openRestTestLake({ uri: fixture.uri })
    try {
      const space = `ns-${randomUUID().slice(0, 8)}`
      const table = await lake.catalog.createTable(tableId(space, 't'), tableRequest({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] } }))
      expect(table.location.replace(/^file:\/+/, '/')).toBe(`${fixture.warehouse.replace(/^file:\/+/, '/')}/${space}/t`)
      const snapshot = await table.newSnapshot({ addRows: [{ id: 1 }, { id: 2 }] })
      const files = await table.files({ snapshotId: snapshot['snapshot-id'] })
      expect(files.data).toHaveLength(1)
      for (const f of files.data) expect(f.dataFile.filePath.replace(/^file:\/+/, '/').startsWith(`${table.location.replace(/^file:\/+/, '/')}/`)).toBe(true)
    } finally {
      await lake.close()
    }
  })
})

describe('REST client against the catalog Tributary serves (read-only)', () => {
  let files: TestLake
  let rest: TestLake
  let server: http.Server
  let dir: string
  const request = tableRequest({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'v', type: ['null', 'string'], default: null }] } })

  beforeAll(async () => {
    dir = tempDir('trib-rest-served-')
    files = await openTestLake(`file://${dir}`)
    const products = exampleMesh()
    const config = loadConfig({ env: {}, flags: { dataDir: dir } })
    server = http.createServer(createCatalogHttpHandler({ catalog: files.catalog, products, access: AccessControl.fromConfig(config, products, {}), maxBodyBytes: config.http.maxBodyBytes }))
    const { url } = await listen(server, 0, '127.0.0.1')
    for (const [ns, name] of [['user-profiles', 'profiles'], ['user-profiles', 'dlq'], ['top-podcasts', 'daily-plays']] as const) {
      const t = await files.catalog.createTable(tableId(ns, name), request)
      await t.newSnapshot({ addRows: [{ id: 1, v: 'a' }] })
      await t.newSnapshot({ addRows: [{ id: 2, v: null }] })
      await t.tag('first')
    }
    // A namespace of no served product: its access rules are unknown to the server, so it stays out.
    await files.catalog.createTable(tableId('elsewhere', 'secret'), request)
    rest = await openRestTestLake({ uri: `${url}/iceberg` })
  })
  afterAll(async () => {
    await rest?.close()
    await files?.close()
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
  })

  it('lists the served products as namespaces and their tables, sorted', async () => {
    expect(await rest.catalog.listNamespaces()).toEqual([['podcast-listeners'], ['top-podcasts'], ['user-profiles']])
    expect(await rest.catalog.listTables(['user-profiles'])).toEqual([tableId('user-profiles', 'dlq'), tableId('user-profiles', 'profiles')])
    expect(await rest.catalog.listTables(['podcast-listeners'])).toEqual([])
    expect(await rest.catalog.listTables(['elsewhere'])).toEqual([])
  })

  it('loads the same metadata, from the same file, as the file catalog', async () => {
    for (const id of [tableId('user-profiles', 'profiles'), tableId('top-podcasts', 'daily-plays')]) {
      const [viaRest, viaFiles] = [await rest.catalog.loadTable(id), await files.catalog.loadTable(id)]
      expect(viaRest.metadataFile).toBe(viaFiles.metadataFile)
      expect(viaRest.metadata).toEqual(viaFiles.metadata)
      expect(Object.keys(viaRest.metadata.refs).sort()).toEqual(['first', 'main'])
      expect(viaRest.snapshot({ ref: 'first' })?.['snapshot-id']).toBe(viaFiles.snapshot({ ref: 'first' })?.['snapshot-id'])
    }
  })

  it('says which tables exist, and that others do not', async () => {
    expect(await rest.catalog.tableExists(tableId('user-profiles', 'profiles'))).toBe(true)
    expect(await rest.catalog.tableExists(tableId('user-profiles', 'nope'))).toBe(false)
    expect(await rest.catalog.tableExists(tableId('elsewhere', 'secret'))).toBe(false)
    await expect(rest.catalog.loadTable(tableId('user-profiles', 'nope'))).rejects.toMatchObject({ code: 'TRIB_LAKE_NOT_FOUND' })
    await expect(rest.catalog.loadTable(tableId('elsewhere', 'secret'))).rejects.toMatchObject({ code: 'TRIB_LAKE_NOT_FOUND' })
  })

  it('refuses every write: commits, creates; and the table is unchanged', async () => {
    const table = await rest.catalog.loadTable(tableId('user-profiles', 'profiles'))
    const before = table.metadataFile
    await expect(table.setProperties({ x: '1' })).rejects.toMatchObject({ code: 'TRIB_LAKE_CATALOG_UNAUTHORIZED', message: expect.stringContaining('only writer') })
    await expect(rest.catalog.createTable(tableId('user-profiles', 'other'), request)).rejects.toMatchObject({ code: 'TRIB_LAKE_CATALOG_UNAUTHORIZED' })
    expect((await files.catalog.loadTable(tableId('user-profiles', 'profiles'))).metadataFile).toBe(before)
  })
})

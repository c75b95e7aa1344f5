import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tableId } from '../../runtime/lake/catalog/identifier.ts'
import { tableRequest } from '../../runtime/lake/iceberg/create.ts'
import { joinPath } from '../../runtime/lake/storage.ts'
import { openTestLake, type TestLake } from '../helpers/lake.ts'
import { assertS3Reachable, createBucket, s3Options } from '../integration/s3-server.ts'
import { catalogContract } from './catalog.contract.ts'

/**
 * The file-system catalog (`<lake>/<namespace>/<name>`, v<N>.metadata.json, the version hint) on
 * a local folder and on the S3 test server: the shared catalog contract, and what is particular
 * to the convention (layout, identifiers it cannot hold, what it lists).
 */
type Opened = { lake: TestLake; cleanup: () => Promise<void> }

async function onFile(): Promise<Opened> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-catalog-'))
  const lake = await openTestLake(`file://${dir}`)
  return { lake, cleanup: async () => (await lake.close(), fs.rmSync(dir, { recursive: true, force: true })) }
}

async function onS3(): Promise<Opened> {
  await assertS3Reachable()
  const { bucket, remove } = await createBucket('catalog')
  const lake = await openTestLake(`s3://${bucket}/lake`, { s3: s3Options })
  return { lake, cleanup: async () => (await lake.close(), await remove()) }
}

for (const [name, open] of [['file', onFile], ['s3', onS3]] as const) {
  catalogContract(`file-system convention on ${name}`, async () => {
    const { lake, cleanup } = await open()
    return { catalog: lake.catalog, cleanup }
  })

  describe(`file-system catalog specifics on ${name}`, () => {
    let lake: TestLake
    let cleanup: () => Promise<void>
    beforeAll(async () => {
      ;({ lake, cleanup } = await open())
    })
    afterAll(async () => cleanup())
    const ns = (): string => `ns-${randomUUID().slice(0, 8)}`
    const request = tableRequest({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] } })
    const storageAt = (...parts: string[]) => lake.lake.storage.open(joinPath(lake.catalog.uri, ...parts))

    it('keeps table <ns>.<name> at <lake>/<ns>/<name> with v<N>.metadata.json and the version hint', async () => {
      const space = ns()
      const table = await lake.catalog.createTable(tableId(space, 'orders'), request)
      const root = joinPath(lake.catalog.uri, space, 'orders')
      expect(table.location).toBe(root)
      expect(table.metadataFile).toBe(`${root}/metadata/v1.metadata.json`)
      await table.setProperties({ k: 'v' })
      expect(table.metadataFile).toBe(`${root}/metadata/v2.metadata.json`)
      expect((await (await storageAt(space, 'orders')).read('metadata/version-hint.text')).toString()).toBe('2')
    })

    it('never applies a commit on a base that is not the latest version, whatever changed', async () => {
      const id = tableId(ns(), 't')
      const a = await lake.catalog.createTable(id, request)
      const b = await lake.catalog.loadTable(id)
      const base = await a.ops.current()
      await b.setProperties({ from: 'b' })
      expect(await a.ops.commit(base, { requirements: [], updates: [{ action: 'set-properties', updates: { from: 'a' } }] })).toBeUndefined()
      expect((await lake.catalog.loadTable(id)).metadata.properties.from).toBe('b')
    })

    it('refuses identifiers it cannot hold as folders', async () => {
      const bad = [tableId([], 'x'), tableId(['a', 'b'], 'x'), tableId('a/b', 'x'), tableId('..', 'x'), tableId('.hidden', 'x'), tableId('a', ''), tableId('a', 'x/y'), tableId('a', '..'), tableId('a', '.tmp-x')]
      for (const id of bad) {
        await expect(lake.catalog.createTable(id, request), JSON.stringify(id)).rejects.toMatchObject({ code: 'TRIB_LAKE_INVALID_IDENTIFIER' })
        await expect(lake.catalog.loadTable(id), JSON.stringify(id)).rejects.toMatchObject({ code: 'TRIB_LAKE_INVALID_IDENTIFIER' })
      }
      await expect(lake.catalog.listTables(['a', 'b'])).rejects.toMatchObject({ code: 'TRIB_LAKE_INVALID_IDENTIFIER' })
    })

    it('lists a damaged table, keeps its error to itself, and skips folders that are not tables', async () => {
      const space = ns()
      const good = await lake.catalog.createTable(tableId(space, 'good'), request)
      await good.newSnapshot({ addRows: [{ id: 1 }] })
      const bad = await lake.catalog.createTable(tableId(space, 'bad'), request)
      await bad.newSnapshot({ addRows: [{ id: 2 }] })
      await (await storageAt(space, 'bad')).write('metadata/v2.metadata.json', Buffer.from('{"format-version": 2, "table-uu'))
      await (await storageAt(space, 'notes')).write('readme.txt', Buffer.from('not a table'))
      await (await storageAt(space, 'half')).write('metadata/snap-1.avro', Buffer.from('no version file'))

      expect((await lake.catalog.listTables([space])).map((t) => t.name)).toEqual(['bad', 'good'])
      expect(await lake.catalog.tableExists(tableId(space, 'bad'))).toBe(true)
      expect(await lake.catalog.tableExists(tableId(space, 'notes'))).toBe(false)
      await expect(lake.catalog.loadTable(tableId(space, 'bad'))).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('v2.metadata.json') })
      expect((await lake.catalog.loadTable(tableId(space, 'good'))).snapshot()?.summary['total-records']).toBe('1')
    })
  })
}

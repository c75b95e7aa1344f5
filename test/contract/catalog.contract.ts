import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog } from '../../runtime/lake/catalog/catalog.ts'
import { tableId } from '../../runtime/lake/catalog/identifier.ts'
import { tableRequest } from '../../runtime/lake/iceberg/create.ts'
import type { Table } from '../../runtime/lake/table.ts'

/**
 * The contract of the Iceberg catalog seam (runtime/lake/catalog/catalog.ts and operations.ts),
 * run against every implementation: the file-system convention on file:// and on S3, and the REST
 * catalog client against a third-party REST catalog. Each test works in namespaces of its own, so
 * runs can share a lake.
 */
export function catalogContract(name: string, open: () => Promise<{ catalog: Catalog; cleanup: () => Promise<void> }>): void {
  describe(`Catalog contract: ${name}`, () => {
    let catalog: Catalog
    let cleanup: () => Promise<void>
    beforeAll(async () => {
      ;({ catalog, cleanup } = await open())
    })
    afterAll(async () => cleanup())

    const ns = (): string => `ns-${randomUUID().slice(0, 8)}`
    const avroSchema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } }, { name: 'v', type: ['null', 'string'], default: null }] }
    const request = tableRequest({ avroSchema, partitionBy: ['day(at)'], identifierFields: ['id'], properties: { owner: 'contract' } })
    const ids = async (table: Table): Promise<number[]> => {
      const conn = await table.lake.duckdb.connect()
      try {
        return (await conn.runAndReadAll(await table.localSql())).getRows().map((r) => Number(r[0])).sort((a, b) => a - b)
      } finally {
        conn.closeSync()
      }
    }

    it('finds nothing in a namespace nobody wrote to', async () => {
      const id = tableId(ns(), 'nothing')
      expect(await catalog.listTables(id.namespace)).toEqual([])
      expect(await catalog.tableExists(id)).toBe(false)
      await expect(catalog.loadTable(id)).rejects.toMatchObject({ code: 'TRIB_LAKE_NOT_FOUND' })
      expect(await catalog.listNamespaces()).not.toContainEqual(id.namespace)
    })

    it('creates a table with its schema, spec and properties, and lists and loads it by identifier', async () => {
      const space = ns()
      const id = tableId(space, 'orders')
      const created = await catalog.createTable(id, request)
      expect(created.identifier).toEqual(id)
      expect(created.schema().fields.map((f) => [f.id, f.name, f.type])).toEqual([[1, 'id', 'long'], [2, 'at', 'timestamptz'], [3, 'v', 'string']])
      expect(created.schema()['identifier-field-ids']).toEqual([1])
      expect(created.spec().fields).toEqual([{ 'source-id': 2, 'field-id': 1000, name: 'at_day', transform: 'day' }])
      expect(created.metadata.properties).toMatchObject({ owner: 'contract' })
      expect(created.metadata.snapshots).toEqual([])
      expect(await catalog.tableExists(id)).toBe(true)
      expect(await catalog.listNamespaces()).toContainEqual([space])
      const loaded = await catalog.loadTable(id)
      expect(loaded.metadata).toEqual(created.metadata)
      expect(loaded.metadataFile).toBe(created.metadataFile)
      expect(loaded.location).toBe(created.location)
    })

    it('lists the tables of a namespace, sorted, and only those', async () => {
      const [a, b] = [ns(), ns()]
      for (const name of ['zeta', 'alpha', 'mid']) await catalog.createTable(tableId(a, name), request)
      await catalog.createTable(tableId(b, 'alpha'), request)
      expect(await catalog.listTables([a])).toEqual(['alpha', 'mid', 'zeta'].map((n) => tableId(a, n)))
      expect(await catalog.listTables([b])).toEqual([tableId(b, 'alpha')])
    })

    it('never replaces a table: a second create, also a concurrent one, is TRIB_LAKE_EXISTS', async () => {
      const id = tableId(ns(), 't')
      const first = await catalog.createTable(id, request)
      await expect(catalog.createTable(id, request)).rejects.toMatchObject({ code: 'TRIB_LAKE_EXISTS' })
      const racing = tableId(ns(), 't')
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => catalog.createTable(racing, request)))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'TRIB_LAKE_EXISTS' })
      expect((await catalog.loadTable(id)).metadata).toEqual(first.metadata)
    })

    it('commits {requirements, updates}; a failed requirement is a conflict and changes nothing', async () => {
      const id = tableId(ns(), 't')
      const table = await catalog.createTable(id, request)
      await table.commit({ requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }], updates: [{ action: 'set-properties', updates: { a: '1' } }] })
      expect((await catalog.loadTable(id)).metadata.properties.a).toBe('1')
      const before = (await catalog.loadTable(id)).metadataFile
      await expect(table.commit({ requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 42 }], updates: [{ action: 'set-properties', updates: { a: '2' } }] })).rejects.toMatchObject({
        code: 'TRIB_LAKE_COMMIT_CONFLICT',
      })
      const after = await catalog.loadTable(id)
      expect(after.metadataFile).toBe(before)
      expect(after.metadata.properties.a).toBe('1')
    })

    it('commits on a stale base write nothing and say so; the table then retries on the new base', async () => {
      const id = tableId(ns(), 't')
      const a = await catalog.createTable(id, request)
      const b = await catalog.loadTable(id)
      const base = await a.ops.current()
      // b moves the schema (what every catalog can pin a commit against; see operations.ts).
      const evolved = { ...avroSchema, fields: [...avroSchema.fields, { name: 'w', type: ['null', 'string'], default: null }] }
      await b.evolveSchema(evolved)
      await b.setProperties({ from: 'b' })
      expect(await a.ops.commit(base, { requirements: [], updates: [{ action: 'set-properties', updates: { from: 'a' } }] })).toBeUndefined()
      expect((await catalog.loadTable(id)).metadata.properties.from).toBe('b')
      // Through the table: the lost race is retried on b's version, keeping both changes.
      await a.commit((latest) => ({ requirements: [], updates: [{ action: 'set-properties', updates: { seen: latest.metadata.properties.from ?? 'none' } }] }))
      const after = await catalog.loadTable(id)
      expect(after.metadata.properties).toMatchObject({ from: 'b', seen: 'b' })
      expect(after.schema().fields.map((f) => f.name)).toEqual(['id', 'at', 'v', 'w'])
    })

    it('loses no commit when writers race on one table', async () => {
      const id = tableId(ns(), 't')
      await catalog.createTable(id, request)
      const writers = await Promise.all([1, 2, 3].map(() => catalog.loadTable(id)))
      await Promise.all(writers.map(async (t, w) => {
        for (let i = 0; i < 3; i++) await t.newSnapshot({ addRows: [{ id: w * 10 + i, at: '2024-05-01T00:00:00Z' }] })
      }))
      const table = await catalog.loadTable(id)
      expect(table.metadata.snapshots).toHaveLength(9)
      expect(await ids(table)).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22])
    })

    it('keeps tables of the same name in different namespaces apart', async () => {
      const [x, y] = [tableId(ns(), 'same'), tableId(ns(), 'same')]
      const tx = await catalog.createTable(x, request)
      const ty = await catalog.createTable(y, request)
      await tx.newSnapshot({ addRows: [{ id: 1, at: '2024-05-01T00:00:00Z' }] })
      await ty.newSnapshot({ addRows: [{ id: 2, at: '2024-05-01T00:00:00Z' }, { id: 3, at: '2024-05-02T00:00:00Z' }] })
      expect(tx.location).not.toBe(ty.location)
      expect(await ids(await catalog.loadTable(x))).toEqual([1])
      expect(await ids(await catalog.loadTable(y))).toEqual([2, 3])
    })
  })
}

import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAvro, buildJson, type ColumnDef, type TableDef } from '../../products/sample-data/debezium/index.ts'
import { createEnvelopeType, createPlainType } from '../../runtime/codec/debezium/index.ts'
import { frame, peekSchemaId } from '../../runtime/codec/avro/wire.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { tableId } from '../../runtime/lake/index.ts'
import { loadProduct, type Product } from '../../runtime/product/load.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { valueSubject } from '../../runtime/registry/registry.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { pyicebergRawRows } from '../interop/python.ts'
import { readTopic, tempDir, testEnv } from '../helpers/runtime.ts'

/**
 * `evolution: additive` on the embedded runtime: a column added to a CDC source (Debezium sends a
 * newer writer schema, built here by the sample-data builders, in JSON with the wrapper and in
 * Avro from the registry) reaches the transform, the output topic (a new schema version; records
 * before keep the old id) and the upsert lake table (a new column; earlier rows null), while the
 * product runs: no restart. pyiceberg and `tributary query` read the same values, exact.
 */
const v1: ColumnDef[] = [
  { name: 'id', type: 'int64' },
  { name: 'name', type: 'string', optional: true },
]
const added: ColumnDef[] = [
  { name: 'note', type: 'string', optional: true },
  { name: 'born', type: 'date', optional: true },
  { name: 'amount', type: 'decimal', precision: 12, scale: 2, optional: true },
  { name: 'big', type: 'int64', optional: true },
  { name: 'seen_at', type: 'micro-timestamp', optional: true },
  { name: 'tags', type: 'string', optional: true },
]
const row = { type: 'record', name: 'Item', namespace: 'evo.test', fields: [
  { name: 'id', type: 'long' },
  { name: 'name', type: ['null', 'string'], default: null },
] }

function writeProduct(dir: string, name: string, format: 'json' | 'avro', transform = DEFAULT_TRANSFORM): string {
  const folder = path.join(dir, name)
  fs.mkdirSync(folder, { recursive: true })
  fs.writeFileSync(path.join(folder, 'item.avsc'), JSON.stringify(row))
  fs.writeFileSync(
    path.join(folder, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: ${name}
domain: tests
description: A mirror that follows columns added to its source.
owner: { team: tests }
inputPorts:
  - { name: rows, topic: ${name.replace("-", "_")}.src.items, format: ${format}, envelope: debezium, schema: ./item.avsc, evolution: additive }
outputPorts:
  - { name: items, topic: ${name}.items, schema: ./item.avsc, key: id, partitions: 2, evolution: additive, snapshot: { mode: upsert, commit: { interval: 100ms } } }
`,
  )
  fs.writeFileSync(path.join(folder, 'transform.ts'), transform)
  return folder
}
const DEFAULT_TRANSFORM = `export default (r: { op: string; value: Record<string, unknown> }) => {
  if (r.op === 'd') return { port: 'items', key: r.value.id, value: null }
  return { port: 'items', value: r.value }
}
`

const table = (name: string, columns: ColumnDef[]): TableDef => ({ topic: `${name.replace("-", "_")}.src.items`, key: ['id'], columns })

/** Source rows: v1 rows, then rows of the table after the columns were added (values at their edges). */
const before = [
  { id: 1, name: 'one' },
  { id: 2, name: 'two' },
  { id: 3, name: null },
]
const after = [
  { id: 4, name: 'four', note: 'added ✓', born: '1969-07-20', amount: '-1234567890.05', big: 9_007_199_254_740_993n, seen_at: '2262-04-11T23:47:16.854775Z', tags: null },
  { id: 1, name: 'one again', note: null, born: '0001-01-01', amount: '0.00', big: -9_223_372_036_854_775_808n, seen_at: '1970-01-01T00:00:00.000001Z', tags: 'x' },
]

describe('evolution: additive, embedded (a column added to a CDC source flows through, no restart)', () => {
  let runtime: Runtime
  let dir: string

  beforeAll(async () => {
    dir = tempDir('trib-evolution-')
    runtime = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir: path.join(dir, 'data') } }))
  })
  afterAll(async () => {
    await runtime.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** Debezium events of `rows` in the product's format, with the writer schema of `columns`. */
  async function events(name: string, format: 'json' | 'avro', columns: ColumnDef[], rows: Array<Record<string, unknown>>): Promise<OutgoingRecord[]> {
    const t = table(name, columns)
    if (format === 'json')
      return rows.map((r, i) => {
        const built = buildJson(t, { op: i === 0 && columns === v1 ? 'r' : 'c', after: r })
        return { topic: t.topic, key: Buffer.from(built.key!), value: Buffer.from(built.value!) }
      })
    const out: OutgoingRecord[] = []
    for (const r of rows) {
      const built = buildAvro(t, { op: 'c', after: r })
      // AvroConverter registers each new writer schema (a column added: a new version).
      const valueId = (await runtime.registry.register(`${t.topic}-value`, built.valueSchema)).id
      const keyId = (await runtime.registry.register(`${t.topic}-key`, built.keySchema!)).id
      out.push({ topic: t.topic, key: frame(keyId, createPlainType(built.keySchema!).toBuffer(built.key)), value: frame(valueId, createEnvelopeType(built.valueSchema).toBuffer(built.value)) })
    }
    return out
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 60_000
    for (;;) {
      const v = await probe()
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const lakeRows = async (name: string) =>
    (await runQuery(runtime.catalog, await lakeTables(runtime.catalog), `SELECT * FROM "${name}".items ORDER BY id`)).rows

  for (const format of ['json', 'avro'] as const) {
    it(`Debezium ${format}: the new columns reach the transform, the output topic (a new version) and the upsert table, exact`, async () => {
      const name = `evo-${format}`
      const product: Product = loadProduct(writeProduct(dir, name, format))
      await runtime.log.ensureTopic(table(name, v1).topic, { partitions: 1 })
      await runtime.log.append(await events(name, format, v1, before))

      // One run throughout: the columns arrive while it runs.
      const units = await createRunnables(runtime, [product])
      const stop = new AbortController()
      const running = runProducts(units, { signal: stop.signal })
      try {
        await waitFor('the first rows in the lake', async () => ((await lakeRows(name).catch(() => [])).length === 3 ? true : undefined))
        await runtime.log.append(await events(name, format, [...v1, ...added], after))
        await waitFor('the new columns in the lake', async () => {
          const rows = await lakeRows(name).catch(() => [])
          return rows.length === 4 && rows.some((r) => r[0] === 4 || r[0] === 4n) ? true : undefined
        })
      } finally {
        stop.abort()
        await running
      }
      expect(units[0]!.processor.metrics.deadLetters.size).toBe(0)

      // The output topic: records before the change keep the first version's id, the rest carry a
      // new version that has the columns as optional fields (default null).
      const outputs = await readTopic(runtime.log, `${name}.items`)
      const ids = [...new Set(outputs.map((r) => peekSchemaId(r.value!)))]
      expect(ids).toHaveLength(2)
      const versions = await runtime.registry.listVersions(valueSubject(`${name}.items`))
      expect(versions).toHaveLength(2)
      const latest = JSON.parse(await runtime.registry.schemaById(ids[1]!)) as { fields: Array<{ name: string; type: unknown; default?: unknown }> }
      expect(latest.fields.map((f) => f.name)).toEqual(['id', 'name', ...added.map((c) => c.name)])
      for (const f of latest.fields.slice(2)) expect([(f.type as unknown[])[0], f.default]).toEqual(['null', null])
      // Decoded with the writer's schema (each record's own version), int64 exact.
      await runtime.codec.serde.prefetch(ids.filter((id) => id !== undefined) as number[])
      const values = outputs.map((r) => runtime.codec.serde.decode(r.value!).value as Record<string, unknown>)
      const four = values.find((v) => v.id === 4)
      expect(four).toEqual({ id: 4, name: 'four', note: 'added ✓', born: '1969-07-20', amount: '-1234567890.05', big: 9_007_199_254_740_993n, seen_at: '2262-04-11T23:47:16.854775', tags: null })

      // The lake: earlier rows read null in the new columns; pyiceberg and query agree, exact.
      const location = path.join(dir, 'data', 'lake', name, 'items')
      const raw = pyicebergRawRows(location).sort((a, b) => Number(a.id) - Number(b.id))
      expect(raw.map((r) => [r.id, r.name, r.note, r.born, r.amount, r.big, r.seen_at, r.tags])).toEqual([
        ['1', 'one again', null, '-719162', '0.00', '-9223372036854775808', '1', 'x'],
        ['2', 'two', null, null, null, null, null, null],
        ['3', null, null, null, null, null, null, null],
        ['4', 'four', 'added ✓', '-165', '-1234567890.05', '9007199254740993', '9223372036854775', null],
      ])
      const query = await runQuery(runtime.catalog, await lakeTables(runtime.catalog), `SELECT id, note, CAST(born AS VARCHAR), CAST(amount AS VARCHAR), big, CAST(seen_at AS VARCHAR) FROM "${name}".items ORDER BY id`)
      expect(query.rows.map((r) => r.map((v) => (v === null ? null : String(v))))).toEqual([
        ['1', null, '0001-01-01', '0.00', '-9223372036854775808', '1970-01-01 00:00:00.000001'],
        ['2', null, null, null, null, null],
        ['3', null, null, null, null, null],
        ['4', 'added ✓', '1969-07-20', '-1234567890.05', '9007199254740993', '2262-04-11 23:47:16.854775'],
      ])

      // A restart: the port starts from its declared schema again, meets both writers (an old one
      // still writing, the new one), registers nothing new and keeps the table's columns.
      const schemas = (await runtime.catalog.loadTable(tableId(name, 'items'))).metadata.schemas.length
      await runtime.log.append([...(await events(name, format, v1, [{ id: 6, name: 'six' }])), ...(await events(name, format, [...v1, ...added], [{ id: 7, note: 'seven' }]))])
      await runProducts(await createRunnables(runtime, [product]), { untilIdle: true })
      expect(await runtime.registry.listVersions(valueSubject(`${name}.items`))).toHaveLength(2)
      expect((await runtime.catalog.loadTable(tableId(name, 'items'))).metadata.schemas.length).toBe(schemas)
      const again = await runQuery(runtime.catalog, await lakeTables(runtime.catalog), `SELECT id, name, note, big FROM "${name}".items WHERE id >= 4 ORDER BY id`)
      expect(again.rows.map((r) => r.map((v) => (v === null ? null : String(v))))).toEqual([
        ['4', 'four', 'added ✓', '9007199254740993'],
        ['6', 'six', null, null],
        ['7', null, 'seven', null],
      ])
    }, 120_000)
  }

  it('never drops a field: one no input added, and a new column in JSON without the wrapper, are dead letters naming it', async () => {
    const name = 'evo-refuse'
    const transform = `export default (r: { value: Record<string, unknown> }) => ({ port: 'items', value: r.value.id === 2 ? { ...r.value, computed: 'x' } : r.value })\n`
    const product = loadProduct(writeProduct(dir, name, 'json', transform))
    const t = table(name, [...v1, ...added])
    await runtime.log.ensureTopic(t.topic, { partitions: 1 })
    const bare = buildJson(t, { op: 'c', after: { id: 5, name: 'five', note: 'n' } }, { schemas: false })
    await runtime.log.append([...(await events(name, 'json', v1, before)), { topic: t.topic, key: Buffer.from(bare.key!), value: Buffer.from(bare.value!) }])
    await runProducts(await createRunnables(runtime, [product]), { untilIdle: true })
    const dead = (await readTopic(runtime.log, `${name}.dlq`)).map((r) => [r.headers['tributary.error.stage']?.toString(), r.headers['tributary.error.code']?.toString(), r.headers['tributary.error.message']?.toString()])
    expect(dead).toHaveLength(2)
    expect(dead[0]!.slice(0, 2)).toEqual(['encode', 'TRIB_ENCODE_FAILED'])
    expect(dead[0]![2]).toContain('field computed is not in schema')
    expect(dead[1]!.slice(0, 2)).toEqual(['decode', 'TRIB_DECODE_INCOMPATIBLE'])
    expect(dead[1]![2]).toContain('after.note is not in the port')
    expect((await lakeRows(name)).map((r) => Number(r[0]))).toEqual([1, 3])
    expect(await runtime.registry.listVersions(valueSubject(`${name}.items`))).toEqual([1])
  }, 120_000)
})

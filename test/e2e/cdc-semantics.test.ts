import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UNAVAILABLE_PLACEHOLDER } from '../../runtime/codec/debezium/unavailable.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId } from '../../runtime/lake/index.ts'
import { loadProduct, type Product } from '../../runtime/product/load.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { readDecoded, readTopic, tempDir, testEnv } from '../helpers/runtime.ts'

/**
 * Debezium semantics end to end on the embedded runtime: unavailable (unchanged TOASTed) values
 * keep what the upsert table and a table-mode port hold, within a batch and across commits; a
 * TRUNCATE reaches the transform and empties both in one step; contract rules apply to
 * table-mode inputs. The same with a real connector: test/fault/pg-cdc.test.ts.
 */
const P = UNAVAILABLE_PLACEHOLDER
const row = { type: 'record', name: 'Row', namespace: 'cdc.test', fields: [
  { name: 'id', type: 'long' },
  { name: 'name', type: ['null', 'string'], default: null },
  { name: 'doc', type: ['null', 'string'], default: null },
  { name: 'tags', type: ['null', { type: 'array', items: 'string' }], default: null },
] }
const answer = { type: 'record', name: 'Answer', namespace: 'cdc.test', fields: [
  { name: 'id', type: 'long' },
  { name: 'doc', type: ['null', 'string'], default: null },
  { name: 'tags', type: ['null', { type: 'array', items: 'string' }], default: null },
] }

function writeProducts(dir: string): { mirror: string; lookup: string } {
  const mirror = path.join(dir, 'mirror')
  const lookup = path.join(dir, 'lookup')
  for (const d of [mirror, lookup]) fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(path.join(dir, 'row.avsc'), JSON.stringify(row))
  fs.writeFileSync(path.join(dir, 'answer.avsc'), JSON.stringify(answer))
  fs.writeFileSync(
    path.join(mirror, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: mirror
domain: tests
description: The source table, by primary key.
owner: { team: tests }
inputPorts:
  - { name: rows, topic: src.rows, format: json, envelope: debezium, schema: ../row.avsc }
outputPorts:
  - { name: rows, topic: mirror.rows, schema: ../row.avsc, key: id, snapshot: { mode: upsert, commit: { interval: 1h } } }
`,
  )
  fs.writeFileSync(
    path.join(mirror, 'transform.ts'),
    `const seen: string[] = []
export default (r: { op: string; value: { id: number }; unavailable?: Set<string>; previousKey?: unknown }) => {
  if (r.op === 't') return { port: 'rows', truncate: true }
  if (r.op === 'd') return { port: 'rows', key: r.value.id, value: null }
  return { port: 'rows', value: r.value, unavailable: r.unavailable, previousKey: r.previousKey }
}
`,
  )
  fs.writeFileSync(
    path.join(lookup, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: lookup
domain: tests
description: Answers questions from the mirror, a table-mode input with a contract.
owner: { team: tests }
inputPorts:
  - { name: asks, topic: lookup.asks, format: json, schema: ../answer.avsc }
  - name: rows
    topic: mirror.rows
    format: avro
    mode: table
    schema: ../row.avsc
    contract: { fields: { name: { pattern: '^[a-z]' } } }
outputPorts:
  - { name: answers, topic: lookup.answers, schema: ../answer.avsc, partitions: 1 }
`,
  )
  fs.writeFileSync(
    path.join(lookup, 'transform.ts'),
    `export default (r: { value: { id: number } }, ctx: { lookup(p: string, k: unknown): { doc: string | null; tags: string[] | null } | undefined }) => {
  const found = ctx.lookup('rows', r.value.id)
  return { port: 'answers', value: { id: r.value.id, doc: found ? found.doc : null, tags: found ? found.tags : null } }
}
`,
  )
  return { mirror, lookup }
}

describe('CDC semantics: unavailable values, truncate, table-port contracts', () => {
  let runtime: Runtime
  let dir: string
  let products: Product[]
  const change = (op: string, after: Record<string, unknown> | null, before: Record<string, unknown> | null = null, headers: Record<string, Buffer> = {}) => ({
    topic: 'src.rows',
    key: Buffer.from(JSON.stringify({ id: (after ?? before)?.id ?? null })),
    value: Buffer.from(JSON.stringify({ op, before, after, source: { connector: 'postgresql' }, ts_ms: 1 })),
    headers,
  })
  const run = async () => {
    const units = await createRunnables(runtime, products)
    await runProducts(units, { untilIdle: true })
    return units
  }
  const lake = async () => {
    const r = await runQuery(runtime.catalog, await lakeTables(runtime.catalog), 'SELECT id, name, doc, tags FROM mirror.rows ORDER BY id')
    return r.rows.map((v) => ({ id: Number(v[0]), name: v[1], doc: v[2], tags: v[3] === null ? null : JSON.parse(JSON.stringify(v[3])) }))
  }
  const ask = async (...ids: number[]) => {
    const before = (await readTopic(runtime.log, 'lookup.answers')).length
    await runtime.log.append(ids.map((id) => ({ topic: 'lookup.asks', key: null, value: Buffer.from(JSON.stringify({ id })) })))
    await run()
    return (await readDecoded(runtime.log, runtime.codec.serde, 'lookup.answers')).slice(before).map((r) => r.value)
  }

  beforeAll(async () => {
    dir = tempDir('trib-cdc-semantics-')
    const { mirror, lookup } = writeProducts(dir)
    products = [loadProduct(mirror), loadProduct(lookup)]
    runtime = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir: path.join(dir, 'data') } }))
    await runtime.log.ensureTopic('src.rows', { partitions: 1 })
    await runtime.log.ensureTopic('lookup.asks', { partitions: 1 })
  })
  afterAll(async () => {
    await runtime.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('keeps stored values for unavailable fields, across commits and within one batch, in the lake and in table-mode ports', async () => {
    await runtime.log.append([
      change('r', { id: 1, name: 'a1', doc: 'long one', tags: ['x', 'y'] }),
      change('c', { id: 2, name: 'b2', doc: 'long two', tags: null }),
      change('c', { id: 3, name: 'Capital', doc: 'three', tags: null }),
    ])
    await run()
    // Across commits: the stored row is read back from the table.
    await runtime.log.append([
      change('u', { id: 1, name: 'a1 again', doc: P, tags: [P] }),
      // Within one batch: the pending row of the same key.
      change('u', { id: 2, name: 'b2', doc: 'new two', tags: ['z'] }),
      change('u', { id: 2, name: 'b2 again', doc: P, tags: null }),
    ])
    const [mirror] = await run()
    expect(mirror!.processor.metrics.deadLetters.size).toBe(0)
    expect(await lake()).toEqual([
      { id: 1, name: 'a1 again', doc: 'long one', tags: ['x', 'y'] },
      { id: 2, name: 'b2 again', doc: 'new two', tags: null },
      { id: 3, name: 'Capital', doc: 'three', tags: null },
    ])
    // The output names the fields; the table-mode port keeps its values too, and refuses the row
    // that breaks its contract (a dead letter at stage validate), so id 3 is unknown there.
    const headers = (await readTopic(runtime.log, 'mirror.rows')).map((r) => r.headers['tributary.unavailable']?.toString()).filter((h) => h !== undefined)
    expect(headers.sort()).toEqual(['doc', 'doc,tags'])
    expect(await ask(1, 2, 3)).toEqual([
      { id: 1, doc: 'long one', tags: ['x', 'y'] },
      { id: 2, doc: 'new two', tags: null },
      { id: 3, doc: null, tags: null },
    ])
    const dead = await readDecoded(runtime.log, runtime.codec.serde, 'lookup.dlq')
    expect(dead.map((d) => [d.headers['tributary.error.stage'], d.headers['tributary.error.code'], d.headers['tributary.error.port']])).toEqual([['validate', 'TRIB_VALIDATE_RULE', 'rows']])
    expect(dead[0]!.headers['tributary.error.message']).toContain('name')

    // A primary-key change (Debezium: a delete, then a create naming the old key in a header):
    // the unavailable value is the one stored under the old key.
    await runtime.log.append([change('d', null, { id: 1 }), change('c', { id: 100, name: 'moved', doc: P, tags: [P] }, null, { '__debezium.oldkey': Buffer.from('{"id":1}') })])
    await run()
    expect((await lake()).find((r) => r.id === 100)).toEqual({ id: 100, name: 'moved', doc: 'long one', tags: ['x', 'y'] })
    expect((await lake()).find((r) => r.id === 1)).toBeUndefined()
    expect(await ask(100)).toEqual([{ id: 100, doc: 'long one', tags: ['x', 'y'] }])
    // The old key's delete committed before the new row arrives: found in the snapshot before.
    await runtime.log.append([change('d', null, { id: 2 })])
    await run()
    await runtime.log.append([change('c', { id: 200, name: 'moved', doc: P, tags: null }, null, { '__debezium.oldkey': Buffer.from('{"id":2}') })])
    await run()
    expect((await lake()).find((r) => r.id === 200)).toEqual({ id: 200, name: 'moved', doc: 'new two', tags: null })
  })

  it('a TRUNCATE reaches the transform and empties the upsert table in one snapshot and the table-mode port', async () => {
    const before = (await runtime.catalog.loadTable(tableId('mirror', 'rows'))).metadata.snapshots.length
    await runtime.log.append([change('t', null), change('c', { id: 9, name: 'n9', doc: 'nine', tags: null })])
    const compactor = (await run()).flatMap((u) => u.sinks).find((s) => s.name === 'mirror.rows')
    expect(await lake()).toEqual([{ id: 9, name: 'n9', doc: 'nine', tags: null }])
    const table = await runtime.catalog.loadTable(tableId('mirror', 'rows'))
    // One commit held the truncate and the row after it (then main fast-forwarded to it).
    expect(table.metadata.snapshots.length).toBe(before + 1)
    expect(compactor!.stats.truncates).toBe(1)
    expect(await ask(100, 9)).toEqual([
      { id: 100, doc: null, tags: null },
      { id: 9, doc: 'nine', tags: null },
    ])
    // An unavailable value after the truncate has nothing to keep: it stays null.
    await runtime.log.append([change('u', { id: 9, name: 'n9', doc: 'nine again', tags: null }), change('t', null), change('c', { id: 10, name: 'n10', doc: P, tags: null })])
    await run()
    expect(await lake()).toEqual([{ id: 10, name: 'n10', doc: null, tags: null }])
    // A truncate, a row, and that row's key change, in one batch: the value moves with the key.
    await runtime.log.append([
      change('t', null),
      change('c', { id: 20, name: 'n20', doc: 'twenty', tags: ['t'] }),
      change('d', null, { id: 20 }),
      change('c', { id: 21, name: 'n21', doc: P, tags: [P] }, null, { '__debezium.oldkey': Buffer.from('{"id":20}') }),
    ])
    await run()
    expect(await lake()).toEqual([{ id: 21, name: 'n21', doc: 'twenty', tags: ['t'] }])
    expect(await ask(21)).toEqual([{ id: 21, doc: 'twenty', tags: ['t'] }])
  })
})

import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { AccessControl } from '../../runtime/access/access.ts'
import { listen } from '../../runtime/http/server.ts'
import { createCatalogHttpHandler } from '../../runtime/lake/catalog/rest/server.ts'
import type { ScanSelector } from '../../runtime/lake/read/scan.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { lakeTables, runQuery, type LakeTable } from '../../runtime/query/query.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { exampleMesh, tempRuntime } from '../helpers/runtime.ts'
import { canonicalRows, pythonPath, restCatalogClient, type RestRead, type Row } from './python.ts'

/**
 * The example mesh's lake served as an Iceberg REST catalog, read by real clients: pyiceberg's
 * RestCatalog and DuckDB's iceberg extension (ATTACH … TYPE iceberg). Each lists the tables, loads
 * them and scans every table at main, at a tag and at every snapshot id; the rows must equal
 * `tributary query` at the same point.
 */
describe('the lake through its Iceberg REST catalog, read by pyiceberg and DuckDB', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  let server: http.Server
  let uri: string
  let tables: LakeTable[]
  const TAG = 'first-day'

  beforeAll(async () => {
    pythonPath()
    ;({ runtime, cleanup } = await tempRuntime())
    for (const t of [usersTopic, playsTopic]) await runtime.log.ensureTopic(t, { partitions: 3 })
    const { records } = await generateSampleData(runtime.registry, { users: 60, plays: 400, seed: 11 })
    const start = Math.min(...records.map((r) => r.timestamp!))
    const mesh = exampleMesh()
    // Two rounds a day apart; the tables are tagged after the first, as `tributary demo` does.
    await runtime.log.append(records.filter((r) => r.timestamp! < start + 86_400_000))
    await runProducts(await createRunnables(runtime, mesh), { untilIdle: true })
    tables = await lakeTables(runtime.catalog)
    for (const t of tables) {
      const table = await runtime.catalog.loadTable(t.identifier)
      if (table.snapshot()) await table.tag(TAG)
    }
    await runtime.log.append(records.filter((r) => r.timestamp! >= start + 86_400_000))
    await runProducts(await createRunnables(runtime, mesh), { untilIdle: true })
    tables = await lakeTables(runtime.catalog)

    const { config } = runtime
    server = http.createServer(createCatalogHttpHandler({ catalog: runtime.catalog, products: mesh, access: AccessControl.fromConfig(config, mesh, {}), s3: config.lake.s3, maxBodyBytes: config.http.maxBodyBytes }))
    uri = `${(await listen(server, 0, '127.0.0.1')).url}/iceberg`
  }, 600_000)
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    await cleanup()
  })

  /** Every table at main, at the tag (where it has one) and at each of its snapshots, with what `tributary query` returns there. */
  async function plan(): Promise<Array<{ read: RestRead; at: ScanSelector; label: string; expected: string[] }>> {
    const out: Array<{ read: RestRead; at: ScanSelector; label: string; expected: string[] }> = []
    for (const t of tables) {
      const table = await runtime.catalog.loadTable(t.identifier)
      const selectors: Array<[string, ScanSelector, Partial<RestRead>]> = [['main', {}, {}]]
      if (table.metadata.refs[TAG]) selectors.push([TAG, { ref: TAG }, { ref: TAG }])
      for (const s of table.metadata.snapshots) selectors.push([`snapshot ${s['snapshot-id']}`, { snapshotId: s['snapshot-id'] }, { snapshot_id: s['snapshot-id'] }])
      for (const [label, at, selector] of selectors) {
        const ours = await runQuery(runtime.catalog, [t], `SELECT * FROM "${t.product}"."${t.port}"`, { asOf: at })
        const rows = ours.rows.map((r) => Object.fromEntries(ours.columns.map((c, i) => [c, r[i]])))
        // The clients print bytes as hex; the query gives Buffers (the value model's bytes).
        const hex = (r: Row) => (t.port === 'dlq' ? { ...r, key: r.key && (r.key as Buffer).toString('hex'), value: r.value && (r.value as Buffer).toString('hex') } : r)
        out.push({ read: { namespace: t.product, table: t.port, ...selector }, at, label: `${t.name} at ${label}`, expected: canonicalRows(rows.map(hex)) })
      }
    }
    return out
  }

  it('serves one table per snapshotted port plus each product\'s dead letters, with the tag', () => {
    expect(tables.map((t) => t.name).sort()).toEqual(['podcast-listeners.demographics', 'podcast-listeners.dlq', 'top-podcasts.daily-plays', 'top-podcasts.dlq', 'user-profiles.dlq', 'user-profiles.profiles'])
  })

  it('pyiceberg lists every table, loads each with its refs, and scans it at main, the tag and every snapshot as tributary query does', async () => {
    const reads = await plan()
    expect(reads.filter((r) => r.read.ref === TAG).length).toBeGreaterThanOrEqual(3)
    const result = await restCatalogClient('pyiceberg', uri, { reads: reads.map((r) => r.read) })
    expect(result.tables.map(([ns, t]) => `${ns}.${t}`).sort()).toEqual(tables.map((t) => t.name).sort())
    for (const t of tables) {
      const refs = (await runtime.catalog.loadTable(t.identifier)).metadata.refs
      expect(result.refs[t.name], t.name).toEqual(Object.fromEntries(Object.entries(refs).map(([name, r]) => [name, r['snapshot-id']])))
    }
    reads.forEach((r, i) => expect(canonicalRows(result.reads[i] as Row[]), r.label).toEqual(r.expected))
    expect(reads.length).toBeGreaterThanOrEqual(15)
  }, 300_000)

  it('DuckDB attaches the catalog, lists every table and reads each at main and at every snapshot (the tag through its snapshot id) as tributary query does', async () => {
    const all = await plan()
    // DuckDB has no syntax for a tag: it reads the tag's snapshot, which the catalog names.
    const reads = await Promise.all(all.map(async (r) => {
      if (!r.read.ref) return r
      const id = (await runtime.catalog.loadTable({ namespace: [r.read.namespace], name: r.read.table })).metadata.refs[r.read.ref]!['snapshot-id']
      return { ...r, read: { namespace: r.read.namespace, table: r.read.table, snapshot_id: id } }
    }))
    const result = await restCatalogClient('duckdb', uri, { reads: reads.map((r) => r.read) })
    expect(result.tables.map(([ns, t]) => `${ns}.${t}`).sort()).toEqual(tables.map((t) => t.name).sort())
    reads.forEach((r, i) => {
      const got = result.reads[i]!
      // A table with no snapshot yet has nothing to read at main.
      if (!Array.isArray(got) && r.expected.length === 0 && r.read.snapshot_id === undefined) return
      expect(Array.isArray(got) ? canonicalRows(got) : got, r.label).toEqual(r.expected)
    })
  }, 300_000)
})

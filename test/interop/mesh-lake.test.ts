import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { lakeTables, runQuery, type LakeTable } from '../../runtime/query/query.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { exampleMesh, readDecoded, tempRuntime } from '../helpers/runtime.ts'
import { canonicalRows, duckdbRows, pyicebergRows, pythonPath, type Row } from './python.ts'

/**
 * The example mesh's tables, compacted in three rounds, read back at every snapshot by pyiceberg
 * (StaticTable.from_metadata), by DuckDB (python) over the files we list, and by `tributary query`:
 * all three must return the same rows.
 */


describe('the lake seen by pyiceberg, DuckDB and tributary query', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  let tables: LakeTable[]

  beforeAll(async () => {
    pythonPath()
    ;({ runtime, cleanup } = await tempRuntime())
    for (const t of [usersTopic, playsTopic]) await runtime.log.ensureTopic(t, { partitions: 3 })
    const { records } = await generateSampleData(runtime.registry, { users: 80, plays: 600, seed: 3 })
    const start = Math.min(...records.map((r) => r.timestamp!))
    // Three rounds a day apart: every table gets several snapshots (upserts with deletes among them).
    for (let day = 0; day < 3; day++) {
      const batch = records.filter((r) => r.timestamp! >= start + day * 86_400_000 && (day === 2 || r.timestamp! < start + (day + 1) * 86_400_000))
      await runtime.log.append(batch)
      await runProducts(await createRunnables(runtime, exampleMesh()), { untilIdle: true })
    }
    tables = await lakeTables(runtime.catalog)
  }, 600_000)
  afterAll(async () => cleanup())

  it('has one table per snapshotted port plus each product\'s dead letters', () => {
    expect(tables.map((t) => t.name).sort()).toEqual([
      'podcast-listeners.demographics',
      'podcast-listeners.dlq',
      'top-podcasts.daily-plays',
      'top-podcasts.dlq',
      'user-profiles.dlq',
      'user-profiles.profiles',
    ])
  })

  it('returns identical rows at every snapshot of every table', async () => {
    let compared = 0
    for (const t of tables) {
      const table = await runtime.catalog.loadTable(t.identifier)
      for (const snapshot of table.metadata.snapshots) {
        const id = snapshot['snapshot-id']
        const ours = await runQuery(runtime.catalog, [t], `SELECT * FROM "${t.product}"."${t.port}"`, { asOf: { snapshotId: id } })
        const oursRows = ours.rows.map((r) => Object.fromEntries(ours.columns.map((c, i) => [c, r[i]])))
        const py = pyicebergRows(table.metadataFile, { snapshotId: id })
        const duck = duckdbRows(await table.scan({ snapshotId: id }))
        // The readers print bytes as hex; the query gives Buffers (the value model's bytes).
        const hex = (r: Row) => (t.port === 'dlq' ? { ...r, key: r.key && (r.key as Buffer).toString('hex'), value: r.value && (r.value as Buffer).toString('hex') } : r)
        const expected = canonicalRows(oursRows.map(hex))
        expect(canonicalRows(duck), `${t.name}@${id} duckdb`).toEqual(canonicalRows(py))
        expect(canonicalRows(py), `${t.name}@${id} pyiceberg vs query`).toEqual(expected)
        compared++
      }
    }
    expect(compared).toBeGreaterThanOrEqual(10)
  }, 600_000)

  it('upserts keep one row per key, equal to the last event per key on the topic', async () => {
    const profiles = tables.find((t) => t.name === 'user-profiles.profiles')!
    const py = pyicebergRows((await runtime.catalog.loadTable(profiles.identifier)).metadataFile)
    const ids = py.map((r) => r.user_id)
    expect(new Set(ids).size).toBe(ids.length)
    const last = new Map<string, unknown>()
    for (const r of await readDecoded(runtime.log, runtime.codec.serde, 'user-profiles.profiles')) last.set(JSON.stringify(r.key), r.value)
    const live = [...last.values()].filter((v): v is Row => v !== null)
    expect(live.length).toBeLessThan(last.size) // some users were deleted
    expect(canonicalRows(py)).toEqual(canonicalRows(live))
    const counts = await runQuery(runtime.catalog, tables, 'SELECT count(*), count(DISTINCT play_id) FROM podcast_listeners.demographics')
    expect(counts.rows[0]![0]).toBe(counts.rows[0]![1])
  })
})

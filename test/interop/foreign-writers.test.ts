import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { decodeAvroFile } from '../../runtime/lake/iceberg/avro-file.ts'
import { compareIds, type SnapshotId } from '../../runtime/lake/iceberg/ids.ts'
import { tableId, type Table } from '../../runtime/lake/index.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { openTestLake, type TestLake } from '../helpers/lake.ts'
import { repoRoot, tempDir } from '../helpers/runtime.ts'
import { duckdbIcebergRowsOfSnapshots, duckdbRowsOfPlans, pyicebergRowsOfSnapshots, pyicebergWrite, pythonPath, type Row } from './python.ts'

/**
 * Tables another engine wrote (issue 8 item 5): pyiceberg appends to, deletes from, overwrites,
 * rewrites and expires snapshots of a product's tables, as a Hadoop-convention writer (its own
 * 63-bit snapshot ids, manifests, data files, manifest merging, expiry that drops parent ids).
 * Afterwards `tributary run` compacts on top (resuming from the offsets of the newest snapshot
 * that has them, however many foreign snapshots came after and whatever was expired), the upsert
 * table's key index notices and rebuilds, every `lake` command and `query` work, and pyiceberg,
 * DuckDB and `tributary query` read the same rows at every snapshot.
 */
const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const PRODUCT = 'foreign-writers'
const TOPIC = 'foreign.in'
const IDS = 40
const DAY = 86_400_000
const BASE = Date.parse('2026-03-01T00:00:00Z')

function writeProduct(dir: string): void {
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  const fields = [
    { name: 'id', type: 'long' },
    { name: 'seq', type: 'long' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'who', type: 'string' },
  ]
  fs.writeFileSync(path.join(dir, 'schemas', 'reading.avsc'), JSON.stringify({ type: 'record', name: 'Reading', namespace: 'foreign', fields }))
  fs.writeFileSync(
    path.join(dir, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: ${PRODUCT}
domain: tests
description: Readings, compacted into an append table and an upsert table that other engines also write.
owner: { team: tests }
inputPorts:
  - { name: readings, topic: ${TOPIC}, format: json, schema: foreign.Reading }
outputPorts:
  - name: events
    topic: ${PRODUCT}.events
    schema: foreign.Reading
    key: id
    snapshot: { mode: append, commit: { interval: 1h, records: 100 }, partitionBy: { day: at } }
  - name: latest
    topic: ${PRODUCT}.latest
    schema: foreign.Reading
    key: id
    snapshot: { mode: upsert, commit: { interval: 1h, records: 120 }, quality: { unique: true, notNull: [id] } }
`,
  )
  fs.writeFileSync(path.join(dir, 'transform.ts'), `export default (r: { value: object }) => [{ port: 'latest', value: r.value }, { port: 'events', value: r.value }]\n`)
}

interface Reading {
  id: number
  seq: number
  at: string
  who: string
}
/** A row in one comparable text form, whoever read it (timestamps to epoch ms). */
const key = (r: Row | Reading): string => `${Number(r.id)}|${Number(r.seq)}|${String(r.who)}|${Date.parse(String(r.at))}`
const keys = (rows: readonly (Row | Reading)[]): string[] => rows.map(key).sort()
const reading = (seq: number, who = 'topic', id = seq % IDS): Reading => ({ id, seq, at: new Date(BASE + (seq % 3) * DAY + seq * 1000).toISOString(), who })

let dataDir: string
let productDir: string
let lakeRoot: string
const topic: Reading[] = []

/** Appends readings to the input topic (the runtime is closed again, so `run` can open the log). */
async function produce(rows: Reading[]): Promise<void> {
  const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
  try {
    await rt.log.ensureTopic(TOPIC, { partitions: 2 })
    await rt.log.append(rows.map((r) => ({ topic: TOPIC, key: Buffer.from(String(r.id)), value: Buffer.from(JSON.stringify(r)), timestamp: BASE + r.seq })))
    topic.push(...rows)
  } finally {
    await rt.close()
  }
}

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** `tributary run <product> --until-idle`, which must succeed. */
function compact(): void {
  const r = cli('run', productDir, '--until-idle')
  expect(r.code, r.stderr).toBe(0)
}

const py = (table: string, op: string, args: unknown = {}) => pyicebergWrite(lakeRoot, `${PRODUCT}.${table}`, op, args)

async function withLake<T>(fn: (lake: TestLake) => Promise<T>): Promise<T> {
  const lake = await openTestLake(`file://${lakeRoot}`)
  try {
    return await fn(lake)
  } finally {
    await lake.close()
  }
}
const load = (lake: TestLake, name: string): Promise<Table> => lake.catalog.loadTable(tableId(PRODUCT, name))

/**
 * pyiceberg, DuckDB (its own iceberg_scan, and python DuckDB over our scan plans) and `query` read
 * the same rows at every snapshot; returns main's rows.
 */
async function agreeEverywhere(name: string): Promise<string[]> {
  return withLake(async (lake) => {
    const table = await load(lake, name)
    const ids = table.metadata.snapshots.map((s) => s['snapshot-id'])
    expect(ids.some((id) => typeof id === 'bigint')).toBe(true)
    const theirs = pyicebergRowsOfSnapshots(new URL(table.metadataFile).pathname)
    const plans = new Map(await Promise.all(ids.map(async (id) => [String(id), await table.scan({ snapshotId: id })] as const)))
    const duck = duckdbRowsOfPlans(plans)
    const icebergScan = duckdbIcebergRowsOfSnapshots(new URL(table.metadataFile).pathname)
    const tables = await lakeTables(lake.catalog)
    expect([...theirs.keys()].sort()).toEqual(ids.map(String).sort())
    for (const id of ids) {
      const ours = await runQuery(lake.catalog, tables, `SELECT * FROM "${PRODUCT}".${name}`, { asOf: { snapshotId: id } })
      const oursRows = ours.rows.map((r) => Object.fromEntries(ours.columns.map((c, i) => [c, r[i]])))
      const want = keys(theirs.get(String(id))!)
      expect(keys(oursRows), `${name}@${id}: query vs pyiceberg`).toEqual(want)
      expect(keys(duck.get(String(id))!), `${name}@${id}: duckdb over our plan vs pyiceberg`).toEqual(want)
      expect(keys(icebergScan.get(String(id))!), `${name}@${id}: duckdb iceberg_scan vs pyiceberg`).toEqual(want)
    }
    const main = await runQuery(lake.catalog, tables, `SELECT * FROM "${PRODUCT}".${name}`)
    return keys(main.rows.map((r) => Object.fromEntries(main.columns.map((c, i) => [c, r[i]]))))
  })
}

/** What `query` reads of main (the cheap check between the full ones). */
async function mainRows(name: string): Promise<string[]> {
  return withLake(async (lake) => {
    const main = await runQuery(lake.catalog, await lakeTables(lake.catalog), `SELECT * FROM "${PRODUCT}".${name}`)
    return keys(main.rows.map((r) => Object.fromEntries(main.columns.map((c, i) => [c, r[i]]))))
  })
}

/** Field ids of a manifest's data_file record, as its Avro schema declares them. */
function dataFileIds(manifestPath: string): number[] {
  const schema = decodeAvroFile(fs.readFileSync(new URL(manifestPath))).schema as { fields: { name: string; type: { fields: { 'field-id': number }[] } }[] }
  return schema.fields.find((f) => f.name === 'data_file')!.type.fields.map((f) => f['field-id']).sort((a, b) => a - b)
}

/** Our manifests declare every data_file field pyiceberg's do (and carry them when we rewrite one of theirs). */
async function sameManifestFieldsAsPyiceberg(): Promise<void> {
  await withLake(async (lake) => {
    const t = await load(lake, 'events')
    // The audit branch is still at the compactor's snapshot; main's manifests are pyiceberg's now.
    const ours = dataFileIds((await t.files({ ref: 'audit' })).manifests[0]!.manifestPath)
    const theirs = (await t.files()).manifests.map((m) => m.manifestPath)
    expect(theirs.length).toBeGreaterThan(0)
    for (const m of theirs) expect(ours, m).toEqual(expect.arrayContaining(dataFileIds(m)))
  })
}

/** The upsert table as a model: the last reading per id. */
function upsert(model: Map<number, Reading>, rows: readonly Reading[]): void {
  for (const r of rows) model.set(r.id, r)
}

beforeAll(() => {
  pythonPath()
  dataDir = tempDir('trib-foreign-')
  productDir = tempDir('trib-foreign-product-')
  lakeRoot = path.join(dataDir, 'lake')
  writeProduct(productDir)
}, 15 * 60_000)
afterAll(() => {
  for (const d of [dataDir, productDir]) if (d) fs.rmSync(d, { recursive: true, force: true })
})

describe('a product whose tables pyiceberg also writes', () => {
  const events: Reading[] = []
  const latest = new Map<number, Reading>()
  let rewriteSnapshot: SnapshotId
  let eventsAfterRewrite: Reading[]

  it('compacts the topic, then pyiceberg appends, deletes, rewrites, overwrites and expires; all readers agree', async () => {
    const first = Array.from({ length: 300 }, (_, i) => reading(i))
    await produce(first)
    compact()
    events.push(...first)
    upsert(latest, first)

    // events: an append that merges manifests (pyiceberg rewrites ours into its own), a copy-on-write
    // delete across partitions, a rewrite of every data file, tagged.
    const added = [reading(10_000, 'py', 500), reading(10_001, 'py', 501), reading(10_002, 'py', 502)]
    expect(py('events', 'append', { rows: added, merge: true }).snapshots).toHaveLength(1)
    events.push(...added)
    py('events', 'delete', { filter: 'seq < 20' })
    events.splice(0, events.length, ...events.filter((r) => r.seq >= 20))
    ;[rewriteSnapshot] = py('events', 'rewrite').snapshots as [SnapshotId]
    py('events', 'tag', { name: 'py-rewrite', snapshot_id: rewriteSnapshot })
    eventsAfterRewrite = [...events]

    // latest: a key deleted, one overwritten, a new one added: the key index must learn all three.
    py('latest', 'delete', { filter: 'id == 3' })
    latest.delete(3)
    const replaced = { id: 4, seq: 20_000, at: '2026-03-02T10:00:00.000Z', who: 'py' }
    py('latest', 'overwrite', { filter: 'id == 4', rows: [replaced] })
    latest.set(4, replaced)
    const newcomer = { id: 1000, seq: 20_001, at: '2026-03-02T11:00:00.000Z', who: 'py' }
    py('latest', 'append', { rows: [newcomer] })
    latest.set(1000, newcomer)

    // Every snapshot, ours and pyiceberg's, before the expiry removes most of them.
    expect(await agreeEverywhere('events')).toEqual(keys(events))
    expect(await agreeEverywhere('latest')).toEqual(keys([...latest.values()]))
    await sameManifestFieldsAsPyiceberg()

    // pyiceberg's expiry keeps only ref heads, and drops the parent id of every snapshot whose parent went.
    for (const t of ['events', 'latest']) py(t, 'expire', { older_than_ms: Date.now() + 1000 })
    await withLake(async (lake) => {
      const t = await load(lake, 'events')
      expect(t.metadata.snapshots.map((s) => s['snapshot-id']).sort(compareIds)).toEqual([t.metadata.refs.main!['snapshot-id'], t.metadata.refs.audit!['snapshot-id'], rewriteSnapshot].filter((v, i, a) => a.indexOf(v) === i).sort(compareIds))
      expect(t.snapshot()?.['parent-snapshot-id']).toBeUndefined()
    })
    expect(await mainRows('events')).toEqual(keys(events))
    expect(await mainRows('latest')).toEqual(keys([...latest.values()]))
  }, 15 * 60_000)

  it('compacts on top: resumes from the offsets of the newest snapshot that has them, and rebuilds the key index', async () => {
    // Updates for the key pyiceberg deleted, the one it overwrote and the one it added, and more.
    const next = [...Array.from({ length: 200 }, (_, i) => reading(300 + i)), reading(600, 'topic', 3), reading(601, 'topic', 4), reading(602, 'topic', 1000)]
    await produce(next)
    compact()
    events.push(...next)
    upsert(latest, next)
    expect(await agreeEverywhere('events')).toEqual(keys(events))
    expect(await agreeEverywhere('latest')).toEqual(keys([...latest.values()]))
    await withLake(async (lake) => {
      for (const name of ['events', 'latest']) {
        const t = await load(lake, name)
        // Published: the audit (unique keys on latest) passed, so main moved to the compactor's head.
        expect(t.metadata.refs.main?.['snapshot-id'], name).toBe(t.metadata.refs.audit?.['snapshot-id'])
        expect(t.snapshot()?.summary['tributary.offsets'], name).toBeDefined()
      }
    })
  }, 15 * 60_000)

  it('runs every lake command and query on the tables, ids printed exactly', async () => {
    const snapshots = cli('lake', 'snapshots', `${PRODUCT}.events`, '--format', 'json')
    expect(snapshots.code, snapshots.stderr).toBe(0)
    expect(snapshots.stdout).toContain(String(rewriteSnapshot))
    const text = cli('lake', 'snapshots', `${PRODUCT}.latest`)
    expect(text.code, text.stderr).toBe(0)
    for (const args of [
      ['tag', `${PRODUCT}.latest`, 'before-compact'],
      ['branch', `${PRODUCT}.latest`, 'experiment'],
      ['audit', `${PRODUCT}.latest`],
      ['compact', `${PRODUCT}.latest`],
      ['compact', `${PRODUCT}.events`],
      ['expire', `${PRODUCT}.events`, '--older-than', '1ms', '--retain-last', '1'],
    ]) {
      const r = cli('lake', ...args)
      expect(r.code, `lake ${args.join(' ')}: ${r.stderr}`).toBe(0)
    }
    const count = cli('query', `SELECT count(*) AS n FROM "${PRODUCT}".events`, '--format', 'json')
    expect(count.code, count.stderr).toBe(0)
    expect(JSON.parse(count.stdout)).toEqual([{ n: events.length }])
    expect(await mainRows('events')).toEqual(keys(events))
    expect(await mainRows('latest')).toEqual(keys([...latest.values()]))
    // A tag pyiceberg made, by name, on the CLI.
    const tagged = cli('query', `SELECT count(*) AS n FROM "${PRODUCT}".events`, '--as-of', 'py-rewrite', '--format', 'json')
    expect(JSON.parse(tagged.stdout)).toEqual([{ n: eventsAfterRewrite.length }])
  }, 15 * 60_000)

  it('rolls back to a snapshot pyiceberg wrote, and the compactor re-reads from the offsets its lineage recorded', async () => {
    const r = cli('lake', 'rollback', `${PRODUCT}.events`, '--to', 'py-rewrite')
    expect(r.code, r.stderr).toBe(0)
    compact()
    // The tag's content, plus every topic reading after the offsets of the compactor's snapshot
    // before pyiceberg's changes (the first 300), read again: none lost, none twice.
    expect(await agreeEverywhere('events')).toEqual(keys([...eventsAfterRewrite, ...topic.slice(300)]))
  }, 15 * 60_000)
})

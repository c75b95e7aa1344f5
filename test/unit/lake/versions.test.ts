import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { openFileStorage } from '../../../connectors/storage/file/index.ts'
import { fileTableOperations } from '../../../runtime/lake/catalog/file.ts'
import { loadLatest, versionOf } from '../../../runtime/lake/catalog/versions.ts'
import { snapshotFiles } from '../../../runtime/lake/iceberg/files.ts'
import { ancestry } from '../../../runtime/lake/iceberg/metadata.ts'
import { compareIds, parseSnapshotId } from '../../../runtime/lake/iceberg/ids.ts'
import type { LakeStorage } from '../../../runtime/lake/storage.ts'
import { Table } from '../../../runtime/lake/table.ts'
import { tempLakes, type LakeFixture } from './support.ts'

const run = promisify(execFile)
const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'who', type: 'string' }] }
const lakes = tempLakes('trib-lake-versions-')

async function allIds(lake: LakeFixture): Promise<number[]> {
  const t = await lake.load()
  const files = await snapshotFiles(t.storage, t.metadata, t.snapshot() as NonNullable<ReturnType<typeof t.snapshot>>)
  expect(files.deletes).toEqual([])
  const conn = await t.lake.duckdb.connect()
  try {
    const r = await conn.runAndReadAll(await t.sql())
    return r.getRows().map((x) => Number(x[0])).sort((a, b) => a - b)
  } finally {
    conn.closeSync()
  }
}

describe('committing metadata versions', () => {
  it('loses no commit when two async writers race on one table', async () => {
    const lake = await lakes()
    await lake.create({ avroSchema: schema })
    const [a, b] = [await lake.load(), await lake.load()]
    const writer = async (t: typeof a, w: number): Promise<void> => {
      for (let i = 0; i < 8; i++) await t.newSnapshot({ addRows: [{ id: w * 1000 + i, who: `w${w}` }] })
    }
    await Promise.all([writer(a, 1), writer(b, 2)])
    const t = await lake.load()
    expect(t.metadata.snapshots).toHaveLength(16)
    // one linear history: every snapshot's parent is the one before it
    expect(ancestry(t.metadata, t.metadata['current-snapshot-id'])).toHaveLength(16)
    expect(t.metadata['snapshot-log']).toHaveLength(16)
    expect(await allIds(lake)).toEqual([...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => 1000 + i), ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => 2000 + i)])
    // no orphaned manifest lists from lost attempts
    const lists = fs.readdirSync(path.join(lake.dir, 'metadata')).filter((f) => f.startsWith('snap-'))
    expect(lists).toHaveLength(16)
  })

  it('loses no commit when two processes race on one table', async () => {
    const lake = await lakes()
    await lake.create({ avroSchema: schema })
    const worker = path.join(import.meta.dirname, 'fixtures/append-worker.ts')
    const spawn = (w: number) => run(process.execPath, ['--import', 'tsx', worker, lake.root, 't.main', String(w), '6'], { cwd: path.resolve(import.meta.dirname, '../../..') })
    const outs = await Promise.all([spawn(1), spawn(2)])
    // Printed in decimal; read back exactly (ids are 63-bit, as Java and pyiceberg draw them).
    const reported = outs.flatMap((o) => o.stdout.trim().split('\n').map((text) => parseSnapshotId(text)))
    const t = await lake.load()
    expect(t.metadata.snapshots.map((s) => s['snapshot-id']).sort(compareIds)).toEqual(reported.sort((a, b) => compareIds(a!, b!)))
    expect(await allIds(lake)).toEqual([...[0, 1, 2, 3, 4, 5].map((i) => 1000 + i), ...[0, 1, 2, 3, 4, 5].map((i) => 2000 + i)])
  }, 120_000)

  it('reports a conflict, not a retry, when a requirement fails after a lost race', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema: schema })
    const s1 = await t.newSnapshot({ addRows: [{ id: 1, who: 'a' }] })
    const other = await lake.load()
    await other.newSnapshot({ addRows: [{ id: 2, who: 'b' }] })
    // expects main still at s1: the other writer moved it
    await expect(t.newSnapshot({ addRows: [{ id: 3, who: 'c' }], expectedParent: s1['snapshot-id'] })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_CONFLICT' })
    // its data file was removed again, and the table is unchanged
    expect(await allIds(lake)).toEqual([1, 2])
    expect(fs.readdirSync(path.join(lake.dir, 'data'))).toHaveLength(2)
  })

  it('finds the latest version past a stale or missing hint', async () => {
    const lake = await lakes()
    const dir = lake.dir
    const t = await lake.create({ avroSchema: schema })
    await t.newSnapshot({ addRows: [{ id: 1, who: 'a' }] })
    await t.newSnapshot({ addRows: [{ id: 2, who: 'a' }] })
    const storage = openFileStorage(dir)
    const latest = async (): Promise<number | undefined> => {
      const loaded = await loadLatest(storage)
      return loaded && versionOf(loaded.file)
    }
    expect(fs.readFileSync(path.join(dir, 'metadata/version-hint.text'), 'utf8')).toBe('3')
    fs.writeFileSync(path.join(dir, 'metadata/version-hint.text'), '1')
    expect(await latest()).toBe(3)
    fs.rmSync(path.join(dir, 'metadata/version-hint.text'))
    expect(await latest()).toBe(3)
    fs.writeFileSync(path.join(dir, 'metadata/version-hint.text'), 'garbage')
    expect(await latest()).toBe(3)
  })

  it('reports corrupt metadata as TRIB_LAKE_CORRUPT naming the file', async () => {
    const lake = await lakes()
    const dir = lake.dir
    const t = await lake.create({ avroSchema: schema })
    await t.newSnapshot({ addRows: [{ id: 1, who: 'a' }] })
    const file = path.join(dir, 'metadata/v2.metadata.json')
    fs.writeFileSync(file, '{"format-version": 2, "table-uu')
    await expect(lake.load()).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('v2.metadata.json') })
    const md = JSON.parse(fs.readFileSync(path.join(dir, 'metadata/v1.metadata.json'), 'utf8'))
    delete md['last-column-id']
    fs.writeFileSync(file, JSON.stringify(md))
    await expect(lake.load()).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringMatching(/v2\.metadata\.json lacks the required field last-column-id/) })
  })

  it('refuses to create a table twice and to load a missing one', async () => {
    const lake = await lakes()
    await lake.create({ avroSchema: schema })
    await expect(lake.create({ avroSchema: schema })).rejects.toMatchObject({ code: 'TRIB_LAKE_EXISTS' })
    await expect(lake.catalog.loadTable({ namespace: ['t'], name: 'nope' })).rejects.toMatchObject({ code: 'TRIB_LAKE_NOT_FOUND' })
  })

  it('tells a storage failure after a successful create (success) from an unknown outcome', async () => {
    const lake = await lakes()
    await lake.create({ avroSchema: schema })
    const real = openFileStorage(lake.dir)
    /** The table, committing through the file catalog's operations over another storage. */
    const over = async (storage: LakeStorage): Promise<Table> => new Table(fileTableOperations(lake.id, storage), (await loadLatest(real))!, lake.lake)
    const props = { action: 'set-properties' as const, updates: { k: 'v' } }
    // The create happened, then the connection "dropped": the commit looks itself up and succeeds.
    const lostReply: LakeStorage = Object.assign(Object.create(real) as LakeStorage, {
      createExclusive: async (p: string, d: Uint8Array) => {
        await real.createExclusive(p, d)
        throw new Error('connection reset')
      },
    })
    await (await over(lostReply)).commit(() => ({ requirements: [], updates: [props] }))
    expect(versionOf((await loadLatest(real))!.file)).toBe(2)
    // The create failed and the file cannot be checked: state unknown, not retried.
    let prepared = 0
    const blind: LakeStorage = Object.assign(Object.create(real) as LakeStorage, {
      createExclusive: async () => {
        throw new Error('timeout')
      },
      read: async (p: string) => (p.endsWith('.metadata.json') && p.includes('v3') ? Promise.reject(new Error('timeout')) : real.read(p)),
    })
    await expect((await over(blind)).commit(() => (prepared++, { requirements: [], updates: [props] }))).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_STATE_UNKNOWN', retriable: false })
    expect(prepared).toBe(1)
    expect(versionOf((await loadLatest(real))!.file)).toBe(2)
  })
})

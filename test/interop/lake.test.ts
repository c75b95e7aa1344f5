import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tableId, tableRequest, type SnapshotId } from '../../runtime/lake/index.ts'
import type { Table } from '../../runtime/lake/table.ts'
import { openTestLake, type TestLake } from '../helpers/lake.ts'
import { duckdbIcebergRows, duckdbRows, parquetSchema, pyicebergFiles, pyicebergRows, pythonPath, repoRoot, sortBy, type Row } from './python.ts'

/**
 * Tables built with the lake API, read back at every snapshot by the real pyiceberg, by DuckDB's
 * iceberg extension (iceberg_scan) and by DuckDB reading the planned files: appends, schema evolution, upserts with position deletes, day partitions, tags, time
 * travel, expiry and rewrites. Our own Node SQL view must agree with both.
 */
const V1 = {
  type: 'record',
  name: 'Play',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'user', type: 'string' },
    { name: 'played_at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'int' } },
    { name: 'place', type: ['null', { type: 'record', name: 'Place', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'int'], default: null }] }], default: null },
  ],
}
const V2 = { ...V1, fields: [...V1.fields, { name: 'rating', type: ['null', 'double'], default: null }] }

const row = (id: number, user: string, day: string, extra: Row = {}): Row => ({
  id,
  user,
  played_at: `${day}T${String(id % 24).padStart(2, '0')}:15:30.123456Z`,
  day,
  amount: `${id}.${String(id % 100).padStart(2, '0')}`,
  tags: id % 2 ? ['a', `t${id}`] : [],
  attrs: { n: id },
  place: id % 3 ? { city: `c${id}`, zip: id % 5 ? 1000 + id : null } : null,
  ...extra,
})

/** What readers return for a row written under schema V1 and read with V2 (rating null). */
const asV2 = (r: Row): Row => ({ rating: null, ...r })

let dir: string
let lake: TestLake
beforeAll(async () => {
  pythonPath()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-interop-'))
  lake = await openTestLake(`file://${dir}`)
}, 15 * 60_000)
afterAll(async () => {
  await lake?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})
const duckdb = () => lake.lake.duckdb.connect()

async function nodeRows(table: Table, selector: Parameters<Table['sql']>[0] = {}): Promise<Row[]> {
  const conn = await duckdb()
  try {
    // JSON via DuckDB itself so that every type prints the way the python side normalizes it.
    const sql = await table.sql(selector)
    const r = await conn.runAndReadAll(`SELECT to_json(v)::VARCHAR AS j FROM (${sql}) AS v`)
    return r.getRows().map((x) => JSON.parse(String(x[0])) as Row)
  } finally {
    conn.closeSync()
  }
}

/** DuckDB's JSON of a row, normalized to the python reader's forms. */
function normalizeDuck(r: Row): Row {
  const out: Row = { ...r }
  if (typeof out.played_at === 'string') out.played_at = (out.played_at as string).replace(' ', 'T').replace(/\+00(:00)?$/, 'Z').replace(/(\.\d+)?Z$/, (m, f: string | undefined) => `${(f ?? '.').padEnd(7, '0')}Z`)
  if (typeof out.amount === 'number') out.amount = (out.amount as number).toFixed(2)
  return out
}

describe('lake tables read by pyiceberg and DuckDB', () => {
  it('appends, evolves, upserts with position deletes, partitions by day, tags and time-travels', async () => {
    const table = await lake.catalog.createTable(tableId('interop', 'plays'), tableRequest({ avroSchema: V1, partitionBy: ['day(played_at)'], identifierFields: ['id'] }))
    const model = new Map<number, Row>()
    const expectations: { snapshotId: SnapshotId; rows: Row[] }[] = []
    const check = async (snapshotId: SnapshotId, expected: Row[]): Promise<void> => {
      const want = sortBy(expected)
      expect(sortBy(pyicebergRows(table.metadataFile, { snapshotId }))).toEqual(want)
      expect(sortBy(duckdbIcebergRows(table.metadataFile, snapshotId))).toEqual(want)
      const plan = await table.scan({ snapshotId })
      expect(sortBy(duckdbRows(plan).map(normalizeDuck))).toEqual(want)
      expect(sortBy((await nodeRows(table, { snapshotId })).map(normalizeDuck))).toEqual(want)
    }

    // 1. append across three days
    const first = [row(1, 'ann', '2024-03-01'), row(2, 'bob', '2024-03-01'), row(3, 'cy', '2024-03-02'), row(4, 'di', '2024-03-03')]
    const s1 = await table.newSnapshot({ addRows: first, summary: { 'tributary.offsets': '{"plays-0":4}' } })
    for (const r of first) model.set(r.id as number, r)
    expect(s1.summary['tributary.offsets']).toBe('{"plays-0":4}')
    expectations.push({ snapshotId: s1['snapshot-id'], rows: [...model.values()] })
    await check(s1['snapshot-id'], [...model.values()])
    const files1 = await table.files()
    expect(files1.data.map((f) => f.dataFile.partition.played_at_day).sort()).toEqual([19783, 19784, 19785])
    await table.tag('v1')

    // 2. evolve: an optional column; old files read it as null
    await table.evolveSchema(V2)
    for (const [id, r] of model) model.set(id, asV2(r))
    const second = [row(5, 'eve', '2024-03-03', { rating: 4.5 })]
    const s2 = await table.newSnapshot({ addRows: second })
    for (const r of second) model.set(r.id as number, r)
    expectations.push({ snapshotId: s2['snapshot-id'], rows: [...model.values()] })
    await check(s2['snapshot-id'], [...model.values()])

    // 3. upsert: ids 2 and 4 change, id 3 is deleted; positions come from the live files
    const live = await table.files()
    const positions = await locate(live.data.map((f) => f.dataFile.filePath), [2, 3, 4])
    const changed = [row(2, 'bob2', '2024-03-01', { rating: 1 }), row(4, 'di2', '2024-03-04', { rating: null })]
    const s3 = await table.newSnapshot({ addRows: changed, deletePositions: positions })
    expect(s3.summary.operation).toBe('overwrite')
    model.delete(3)
    for (const r of changed) model.set(r.id as number, r)
    expectations.push({ snapshotId: s3['snapshot-id'], rows: [...model.values()] })
    await check(s3['snapshot-id'], [...model.values()])
    // pyiceberg pairs the same delete files with the same data files as our planner
    const ours = (await table.scan()).tasks.map((t) => ({ file: t.dataFile.filePath, deletes: t.deletes.map((d) => d.filePath).sort() }))
    const theirs = pyicebergFiles(table.metadataFile).map((t) => ({ file: t.file, deletes: t.deletes }))
    expect(sortByFile(theirs)).toEqual(sortByFile(ours))
    expect(ours.filter((t) => t.deletes.length > 0)).toHaveLength(3)

    // every earlier snapshot still reads the same, by id, by tag and by time
    for (const e of expectations) await check(e.snapshotId, e.rows)
    expect(sortBy(pyicebergRows(table.metadataFile, { ref: 'v1' }))).toEqual(sortBy(first))
    expect(table.snapshot({ asOfTimestampMs: s2['timestamp-ms'] })?.['snapshot-id']).toBe(s2['snapshot-id'])
    // both read the table directory through version-hint.text
    expect(sortBy(pyicebergRows(path.join(dir, 'interop', 'plays')))).toEqual(sortBy([...model.values()]))
    expect(sortBy(duckdbIcebergRows(path.join(dir, 'interop', 'plays')))).toEqual(sortBy([...model.values()]))

    // 4. rewrite: same rows, no delete files left, fewer data files
    const before = (await table.files()).data.length
    const rewrite = await table.rewriteDataFiles()
    expect(rewrite.snapshot?.summary.operation).toBe('replace')
    expect(rewrite.removedDeleteFiles).toBe(3)
    const after = await table.files()
    expect(after.deletes).toHaveLength(0)
    expect(after.data.length).toBeLessThan(before)
    await check(rewrite.snapshot?.['snapshot-id'] as SnapshotId, [...model.values()])

    // 5. expiry keeps the tag and main, removes the rest and only their files
    const expired = await table.expireSnapshots({ olderThanMs: Date.now() + 60_000, retainLast: 1 })
    expect(expired.expiredSnapshotIds.sort()).toEqual([s2['snapshot-id'], s3['snapshot-id']].sort())
    expect(expired.deletedFiles.length).toBeGreaterThan(0)
    for (const f of expired.deletedFiles) expect(fs.existsSync(f.replace('file://', ''))).toBe(false)
    expect(sortBy(pyicebergRows(table.metadataFile))).toEqual(sortBy([...model.values()]))
    expect(sortBy(duckdbIcebergRows(table.metadataFile))).toEqual(sortBy([...model.values()]))
    expect(sortBy(pyicebergRows(table.metadataFile, { ref: 'v1' }))).toEqual(sortBy(first))
  }, 300_000) // some 30 runs of the python readers: about a minute on a machine under load

  it('writes Parquet with field ids, micros timestamps and 3-level lists', async () => {
    const table = await lake.catalog.createTable(tableId('interop', 'schema'), tableRequest({ avroSchema: V1 }))
    await table.newSnapshot({ addRows: [row(1, 'a', '2024-01-01')] })
    const file = (await table.files()).data[0]?.dataFile.filePath as string
    const cols = parquetSchema(file.replace('file://', ''))
    const byName = new Map(cols.map((c) => [c.name, c]))
    const ids = new Map(table.schema().fields.map((f) => [f.name, f.id]))
    for (const [name, id] of ids) expect(Number(byName.get(name)?.field_id), name).toBe(id)
    expect(byName.get('played_at')?.logical_type).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/)
    expect(cols.map((c) => c.name)).toEqual(expect.arrayContaining(['tags', 'list', 'element']))
    expect(byName.get('element')?.field_id).not.toBeNull()
  })

  it('marks required columns required, in data and position delete files (as pyarrow reads them)', async () => {
    const flat = { type: 'record', name: 'Flat', fields: [...V1.fields.slice(0, 5), { name: 'note', type: ['null', 'string'], default: null }, { name: 'wide', type: { type: 'bytes', logicalType: 'decimal', precision: 30, scale: 4 } }] }
    const table = await lake.catalog.createTable(tableId('interop', 'required'), tableRequest({ avroSchema: flat }))
    const rows = [1, 2, 3].map((id): Row => { const { tags, attrs, place, ...r } = row(id, 'u', '2024-01-01'); return { ...r, note: id === 2 ? null : 'n', wide: `-${id}2345678901234567890123456.7890` } })
    await table.newSnapshot({ addRows: rows })
    const [data] = (await table.files()).data
    await table.newSnapshot({ deletePositions: [{ path: data!.dataFile.filePath, pos: 1 }] })
    const [deletes] = (await table.files()).deletes
    const columns = (file: string) => Object.fromEntries((JSON.parse(execFileSync(pythonPath(), [path.join(repoRoot, 'test/interop/parquet_schema.py'), file.replace('file://', '')], { encoding: 'utf8' })) as Array<{ path: string; required: boolean; field_id: number }>).map((c) => [c.path, [c.required, c.field_id]]))
    const ids = new Map(table.schema().fields.map((f) => [f.name, f.id]))
    expect(columns(data!.dataFile.filePath)).toEqual({
      id: [true, ids.get('id')],
      user: [true, ids.get('user')],
      played_at: [true, ids.get('played_at')],
      day: [true, ids.get('day')],
      amount: [true, ids.get('amount')],
      note: [false, ids.get('note')],
      wide: [true, ids.get('wide')],
    })
    expect(columns(deletes!.dataFile.filePath)).toEqual({ file_path: [true, 2147483546], pos: [true, 2147483545] })
    const expected = sortBy(rows.filter((r) => r.id !== 2))
    expect(sortBy(pyicebergRows(table.metadataFile))).toEqual(expected)
    expect(sortBy(duckdbIcebergRows(table.metadataFile))).toEqual(expected)
  })
})

const sortByFile = <T extends { file: string }>(xs: T[]): T[] => [...xs].sort((a, b) => a.file.localeCompare(b.file))

/** (file, position) of rows with the given ids, found the way a compactor would: with DuckDB. */
async function locate(files: string[], ids: number[]): Promise<{ path: string; pos: number }[]> {
  const conn = await duckdb()
  try {
    const list = files.map((f) => `'${f.replace('file://', '')}'`).join(', ')
    const r = await conn.runAndReadAll(`SELECT filename, file_row_number FROM read_parquet([${list}], filename = true, file_row_number = true) WHERE id IN (${ids.join(', ')})`)
    return r.getRows().map(([f, pos]) => ({ path: `file://${String(f)}`, pos: Number(pos) }))
  } finally {
    conn.closeSync()
  }
}

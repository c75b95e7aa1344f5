import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Table } from '../../../runtime/lake/table.ts'
import { ids, tempLakes } from './support.ts'

const schema = {
  type: 'record',
  name: 'R',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'price', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 }], default: null },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
}
const lakes = tempLakes('trib-lake-table-')

const r = (id: number, extra: Record<string, unknown> = {}) => ({ id, at: '2024-05-01T12:00:00.000Z', ...extra })

describe('table facade', () => {
  it('write-audit-publish: a new branch starts at main, main moves only by fast-forward', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    const s1 = await t.newSnapshot({ addRows: [r(1)] })
    const audit = await t.newSnapshot({ branch: 'audit', addRows: [r(2)], summary: { 'tributary.offsets': '{"p-0":2}' } })
    expect(audit['parent-snapshot-id']).toBe(s1['snapshot-id'])
    expect(t.metadata['current-snapshot-id']).toBe(s1['snapshot-id'])
    expect(await ids(t)).toEqual([1])
    expect(await ids(t, { ref: 'audit' })).toEqual([1, 2])
    const published = await t.fastForward('audit')
    expect(published['snapshot-id']).toBe(audit['snapshot-id'])
    expect(await ids(t)).toEqual([1, 2])
    expect(t.snapshot()?.summary['tributary.offsets']).toBe('{"p-0":2}')
    // main moved on its own: audit's next head is no longer a fast-forward of it
    await t.newSnapshot({ branch: 'audit', addRows: [r(3)] })
    await t.newSnapshot({ addRows: [r(4)] })
    await expect(t.fastForward('audit')).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_CONFLICT', message: expect.stringContaining('not a fast-forward') })
    expect(await ids(t)).toEqual([1, 2, 4])
  })

  it('evolves keeping the columns the new schema lacks, optional from then on, with their values', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    await t.newSnapshot({ addRows: [r(1, { note: 'kept' })] })
    // A schema without `at` (required) and `note`: both stay, `at` no longer required.
    const next = { ...schema, fields: [schema.fields[0], schema.fields[2], { name: 'extra', type: ['null', 'string'], default: null }] }
    const evolved = await t.evolveSchema(next, { keepColumns: true })
    expect(evolved.fields.map((f) => [f.name, f.required])).toEqual([['id', true], ['price', false], ['extra', false], ['at', false], ['note', false]])
    await t.newSnapshot({ addRows: [{ id: 2, extra: 'x' }] })
    const conn = await t.lake.duckdb.connect()
    try {
      const rows = (await conn.runAndReadAll(`SELECT id, note, extra FROM (${await t.sql()}) ORDER BY id`)).getRows()
      expect(rows.map((row) => [Number(row[0]), row[1], row[2]])).toEqual([[1, 'kept', null], [2, null, 'x']])
    } finally {
      conn.closeSync()
    }
    // Without keepColumns they leave the current schema.
    expect((await t.evolveSchema(next)).fields.map((f) => f.name)).toEqual(['id', 'price', 'extra'])
  })

  it('pins the parent for exactly-once commits and refuses commits to tags', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    await expect(t.newSnapshot({ addRows: [r(1)], expectedParent: 42 })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_CONFLICT' })
    const s1 = await t.newSnapshot({ addRows: [r(1)], expectedParent: null })
    await t.newSnapshot({ addRows: [r(2)], expectedParent: s1['snapshot-id'] })
    await expect(t.newSnapshot({ addRows: [r(3)], expectedParent: s1['snapshot-id'] })).rejects.toMatchObject({ code: 'TRIB_LAKE_COMMIT_CONFLICT' })
    await t.tag('v1')
    await expect(t.newSnapshot({ branch: 'v1', addRows: [r(5)] })).rejects.toMatchObject({ code: 'TRIB_LAKE_INVALID_UPDATE' })
    expect(await ids(t)).toEqual([1, 2])
    // the refused commits left no data files behind
    const parquet = (d: string): string[] => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'))
    expect(parquet(path.join(t.storage.localPath('') as string, 'data'))).toHaveLength(2)
  })

  it('time-travels by snapshot id, tag and timestamp, and says what is missing', async () => {
    const lake = await lakes()
    await lake.create({ avroSchema: schema })
    const t = await lake.load()
    const s1 = await t.newSnapshot({ addRows: [r(1)] })
    const s2 = await t.newSnapshot({ addRows: [r(2)] })
    expect(await ids(t, { snapshotId: s1['snapshot-id'] })).toEqual([1])
    expect(await ids(t, { asOfTimestampMs: s2['timestamp-ms'] })).toEqual([1, 2])
    expect(t.snapshot({ asOfTimestampMs: s1['timestamp-ms'] })?.['snapshot-id']).toBeOneOf([s1['snapshot-id'], s2['snapshot-id']])
    expect(() => t.snapshot({ snapshotId: 1 })).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SNAPSHOT_NOT_FOUND' }))
    expect(() => t.snapshot({ ref: 'nope' })).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SNAPSHOT_NOT_FOUND' }))
    expect(() => t.snapshot({ asOfTimestampMs: 0 })).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SNAPSHOT_NOT_FOUND' }))
  })

  it('refuses rows that do not fit the schema, naming row and field, and writes nothing', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ id: 1 }, /row 1, field at: at is required/],
      [r(1, { price: 12.5 }), /field price: price expects a decimal string/],
      [r(1, { price: '12345.00' }), /at most 6 digits/],
      [r(1, { at: '2024-05-01 12:00:00' }), /ISO UTC timestamp/],
      [{ ...r(1), id: 2 ** 60 }, /field id: id expects a safe integer/],
    ]
    for (const [row, message] of bad) {
      await expect(t.newSnapshot({ addRows: [r(0), row] })).rejects.toMatchObject({ code: 'TRIB_LAKE_ROW_INVALID', message: expect.stringMatching(message) })
    }
    expect(t.metadata.snapshots).toEqual([])
    expect(fs.existsSync(path.join(t.storage.localPath('') as string, 'data'))).toBe(false)
  })

  it('accepts canonical values and their alternatives, exactly', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    await t.newSnapshot({ addRows: [r(1, { price: '-0.05', at: new Date(Date.UTC(2024, 0, 2)) }), r(2, { price: '9999.99', at: 1_700_000_000_123_456, note: 'ü' })] })
    const conn = await t.lake.duckdb.connect()
    try {
      const rows = (await conn.runAndReadAll(`SELECT id, CAST(price AS VARCHAR), epoch_us("at"), note FROM (${await t.sql()}) ORDER BY id`)).getRows()
      expect(rows).toEqual([[1n, '-0.05', BigInt(Date.UTC(2024, 0, 2)) * 1000n, null], [2n, '9999.99', 1_700_000_000_123_456n, 'ü']])
    } finally {
      conn.closeSync()
    }
    const stats = (await t.files()).data[0]?.dataFile
    expect(stats?.nullValueCounts?.get(4)).toBe(1)
    expect(stats?.lowerBounds?.get(1)?.readBigInt64LE(0)).toBe(1n)
    expect(stats?.upperBounds?.get(1)?.readBigInt64LE(0)).toBe(2n)
  })
})

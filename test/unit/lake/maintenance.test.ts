import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { snapshotFiles } from '../../../runtime/lake/iceberg/files.ts'
import { readManifestList } from '../../../runtime/lake/iceberg/manifest.ts'
import type { Table } from '../../../runtime/lake/table.ts'
import { ids, tempLakes } from './support.ts'

const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'v', type: 'string' }] }
const lakes = tempLakes('trib-lake-maint-')
const local = (uri: string): string => uri.replace('file://', '')

/** Every file any remaining snapshot references exists. */
async function assertComplete(table: Table): Promise<void> {
  for (const s of table.metadata.snapshots) {
    expect(fs.existsSync(local(s['manifest-list'])), s['manifest-list']).toBe(true)
    for (const m of await readManifestList(table.storage, s['manifest-list'])) expect(fs.existsSync(local(m.manifestPath)), m.manifestPath).toBe(true)
    const files = await snapshotFiles(table.storage, table.metadata, s)
    for (const f of [...files.data, ...files.deletes]) expect(fs.existsSync(local(f.dataFile.filePath)), f.dataFile.filePath).toBe(true)
  }
}

describe('snapshot expiry', () => {
  it('never deletes a file a remaining snapshot, branch or tag references', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    const s1 = await t.newSnapshot({ addRows: [{ id: 1, v: 'a' }] })
    await t.tag('first')
    const s2 = await t.newSnapshot({ addRows: [{ id: 2, v: 'b' }] })
    await t.setRef('audit', s2['snapshot-id'], { type: 'branch' })
    const s3 = await t.newSnapshot({ addRows: [{ id: 3, v: 'c' }] })
    const onlyInS3 = (await t.files()).data.map((f) => f.dataFile.filePath).filter((p) => p.includes('data/'))
    const live3 = (await t.files()).data.length
    expect(live3).toBe(3)
    const rewrite = await t.rewriteDataFiles()
    expect(rewrite.rewrittenDataFiles).toBe(3)

    const result = await t.expireSnapshots({ olderThanMs: Date.now() + 60_000, retainLast: 1 })
    expect(result.expiredSnapshotIds).toEqual([s3['snapshot-id']])
    expect(t.metadata.snapshots.map((s) => s['snapshot-id'])).toContain(s1['snapshot-id'])
    await assertComplete(t)
    // file of id 3 was live only in s3; ids 1 and 2 stay readable through the tag and the branch
    const gone = onlyInS3.filter((p) => !fs.existsSync(local(p)))
    expect(gone).toHaveLength(1)
    expect(result.deletedFiles).toEqual(expect.arrayContaining(gone))
    expect(await ids(t, { ref: 'first' })).toEqual([1])
    expect(await ids(t, { ref: 'audit' })).toEqual([1, 2])
    expect(await ids(t)).toEqual([1, 2, 3])
  })

  it('keeps the last N per branch and everything newer than the cutoff', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    for (let i = 1; i <= 5; i++) await t.newSnapshot({ addRows: [{ id: i, v: 'x' }] })
    expect((await t.expireSnapshots({ olderThanMs: 0, retainLast: 1 })).expiredSnapshotIds).toEqual([])
    const r = await t.expireSnapshots({ olderThanMs: Date.now() + 60_000, retainLast: 2 })
    expect(r.expiredSnapshotIds).toHaveLength(3)
    expect(t.metadata.snapshots).toHaveLength(2)
    // appends carry manifests forward: no data file was only in an expired snapshot
    expect(r.deletedFiles.filter((f) => f.includes('/data/'))).toEqual([])
    await assertComplete(t)
    expect(await ids(t)).toEqual([1, 2, 3, 4, 5])
  })
})

describe('rewriteDataFiles', () => {
  it('applies deletes, drops obsolete delete files and keeps rows identical', async () => {
    const t = await (await lakes()).create({ avroSchema: schema })
    await t.newSnapshot({ addRows: [{ id: 1, v: 'a' }, { id: 2, v: 'b' }] })
    await t.newSnapshot({ addRows: [{ id: 3, v: 'c' }] })
    const first = (await t.files()).data.find((f) => f.dataFile.recordCount === 2)?.dataFile.filePath as string
    await t.newSnapshot({ deletePositions: [{ path: first, pos: 0 }], addRows: [{ id: 1, v: 'a2' }] })
    expect(await ids(t)).toEqual([1, 2, 3])
    const r = await t.rewriteDataFiles()
    expect(r).toMatchObject({ rewrittenDataFiles: 3, removedDeleteFiles: 1, addedDataFiles: 1 })
    const files = await t.files()
    expect(files.deletes).toEqual([])
    expect(files.data.map((f) => f.dataFile.recordCount)).toEqual([3])
    const conn = await t.lake.duckdb.connect()
    try {
      const rows = (await conn.runAndReadAll(`SELECT id, v FROM (${await t.sql()}) ORDER BY id`)).getRows()
      expect(rows).toEqual([[1n, 'a2'], [2n, 'b'], [3n, 'c']])
    } finally {
      conn.closeSync()
    }
    expect(r.snapshot?.summary).toMatchObject({ operation: 'replace', 'total-records': '3', 'total-data-files': '1', 'total-delete-files': '0' })
  })
})

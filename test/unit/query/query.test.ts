import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tableId, tableRequest } from '../../../runtime/lake/index.ts'
import { lakeTables, parseAsOf, runQuery } from '../../../runtime/query/query.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'
import { failure, tempDir } from '../../helpers/runtime.ts'

/**
 * Time travel to a snapshot that does not exist, and a data file that is gone: the query naming
 * such a table fails with that table's own error, whatever it selects (test/unit/query/isolation
 * covers garbled metadata and the tables next to a damaged one).
 */
const open: Array<{ dir: string; lake: TestLake }> = []
afterEach(async () => {
  for (const { dir, lake } of open.splice(0)) {
    await lake.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

/** p.t (two snapshots) and q.u (one), in a file lake. */
async function lake(): Promise<{ dir: string; lake: TestLake }> {
  const dir = tempDir('trib-query-')
  const l = await openTestLake(`file://${dir}`)
  open.push({ dir, lake: l })
  for (const [product, port, batches] of [['p', 't', [[1, 2], [3]]], ['q', 'u', [[10]]]] as const) {
    const table = await l.catalog.createTable(tableId(product, port), tableRequest({ avroSchema: { type: 'record', name: 'r', fields: [{ name: 'id', type: 'long' }] } }))
    for (const ids of batches) await table.newSnapshot({ addRows: ids.map((id) => ({ id })) })
  }
  return { dir, lake: l }
}

describe('queries over tables that cannot be read', () => {
  it('--as-of an unknown tag or a time before the first snapshot is TRIB_LAKE_SNAPSHOT_NOT_FOUND, whatever the statement selects (issue 10)', async () => {
    const { lake: l } = await lake()
    const tables = await lakeTables(l.catalog)
    for (const asOf of ['nosuchtag', '2001-01-01T00:00:00Z']) {
      for (const sql of ['SELECT count(*) FROM p.t', 'SELECT * FROM p.t LIMIT 0', 'SELECT 1 FROM p.t WHERE false']) {
        const e = await failure(runQuery(l.catalog, tables, sql, { asOf: parseAsOf(asOf) }))
        expect(e.code, `${sql} --as-of ${asOf}`).toBe('TRIB_LAKE_SNAPSHOT_NOT_FOUND')
        expect(e.message).toMatch(/^table p\.t: /)
      }
    }
    // A statement that does not name the table is not affected by it.
    expect((await runQuery(l.catalog, tables, 'SELECT 42 AS answer', { asOf: parseAsOf('nosuchtag') })).rows).toEqual([[42]])
  })

  it('a missing data file is TRIB_LAKE_FILE_NOT_FOUND naming it, in one line, not retriable; other tables answer', async () => {
    const { dir, lake: l } = await lake()
    const data = path.join(dir, 'p', 't', 'data')
    const [gone] = fs.readdirSync(data)
    fs.unlinkSync(path.join(data, gone!))
    const tables = await lakeTables(l.catalog)
    for (const sql of ['SELECT count(*) FROM p.t', 'SELECT * FROM p.t LIMIT 0']) {
      const e = await failure(runQuery(l.catalog, tables, sql))
      expect(e.code).toBe('TRIB_LAKE_FILE_NOT_FOUND')
      expect(e.retriable).toBe(false)
      expect(e.message).toContain(gone)
      expect(e.message.split('\n')).toHaveLength(1)
    }
    expect((await runQuery(l.catalog, tables, 'SELECT count(*) AS n FROM q.u')).rows).toEqual([[1]])
  })
})

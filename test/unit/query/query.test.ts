import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createTable } from '../../../runtime/lake/index.ts'
import { parseAsOf, runQuery, type LakeTable } from '../../../runtime/query/query.ts'
import { failure, tempDir } from '../../helpers/runtime.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** Two tables in a file lake: p.t (two snapshots) and q.u (one). */
async function lake(): Promise<{ dir: string; tables: LakeTable[] }> {
  const dir = tempDir('trib-query-')
  dirs.push(dir)
  const tables: LakeTable[] = []
  for (const [product, port, batches] of [['p', 't', [[1, 2], [3]]], ['q', 'u', [[10]]]] as const) {
    const location = pathToFileURL(path.join(dir, product, port)).href
    const table = await createTable(location, { avroSchema: { type: 'record', name: 'r', fields: [{ name: 'id', type: 'long' }] } })
    for (const ids of batches) await table.newSnapshot({ addRows: ids.map((id) => ({ id })) })
    tables.push({ name: `${product}.${port}`, product, port, location })
  }
  return { dir, tables }
}

describe('queries over tables that cannot be read', () => {
  it('--as-of an unknown tag or a time before the first snapshot is TRIB_LAKE_SNAPSHOT_NOT_FOUND, whatever the statement selects (issue 10)', async () => {
    const { tables } = await lake()
    for (const asOf of ['nosuchtag', '2001-01-01T00:00:00Z']) {
      for (const sql of ['SELECT count(*) FROM p.t', 'SELECT * FROM p.t LIMIT 0', 'SELECT 1 FROM p.t WHERE false']) {
        const e = await failure(runQuery(tables, sql, { asOf: parseAsOf(asOf) }))
        expect(e.code, `${sql} --as-of ${asOf}`).toBe('TRIB_LAKE_SNAPSHOT_NOT_FOUND')
        expect(e.message).toMatch(/^table p\.t: /)
      }
    }
    // A statement that does not name the table is not affected by it.
    expect((await runQuery(tables, 'SELECT 42 AS answer', { asOf: parseAsOf('nosuchtag') })).rows).toEqual([[42]])
  })

  it('a missing data file is TRIB_LAKE_FILE_NOT_FOUND naming it, not retriable; other tables answer', async () => {
    const { dir, tables } = await lake()
    const data = path.join(dir, 'p', 't', 'data')
    const [gone] = fs.readdirSync(data)
    fs.unlinkSync(path.join(data, gone!))
    const e = await failure(runQuery(tables, 'SELECT count(*) FROM p.t'))
    expect(e.code).toBe('TRIB_LAKE_FILE_NOT_FOUND')
    expect(e.retriable).toBe(false)
    expect(e.message).toContain(gone)
    expect(e.message.split('\n')).toHaveLength(1)
    expect((await runQuery(tables, 'SELECT count(*) AS n FROM q.u')).rows).toEqual([[1]])
  })

  it('a table whose metadata is garbled fails only the statements naming it', async () => {
    const { dir, tables } = await lake()
    const md = path.join(dir, 'p', 't', 'metadata', 'v3.metadata.json')
    fs.writeFileSync(md, fs.readFileSync(md, 'utf8').slice(0, 100))
    expect((await failure(runQuery(tables, 'SELECT count(*) FROM p.t'))).code).toBe('TRIB_LAKE_CORRUPT')
    expect((await runQuery(tables, 'SELECT id FROM q.u')).rows).toEqual([[10]])
    expect((await failure(runQuery(tables, 'SELECT * FROM nowhere.t'))).code).toBe('TRIB_QUERY_UNKNOWN_TABLE')
  })
})

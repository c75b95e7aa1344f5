import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { TributaryError } from '../../../runtime/errors.ts'
import { tableId, tableRequest, type Catalog } from '../../../runtime/lake/index.ts'
import { compilePolicy, type PiiAction } from '../../../runtime/processor/policy.ts'
import { assertReadOnly, namedTables } from '../../../runtime/query/guard.ts'
import { type LakeTable, type TableAccess, runQuery } from '../../../runtime/query/query.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'
import { failure, tempDir } from '../../helpers/runtime.ts'

const schema = {
  type: 'record',
  name: 'Person',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'email', type: 'string' },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'city', type: ['null', 'string'], default: null },
    { name: 'address', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'street', type: ['null', 'string'] }, { name: 'zip', type: 'string' }] }], default: null },
  ],
}
const pii: Record<string, PiiAction> = { email: 'hash', name: 'mask', city: 'drop', 'address.street': 'mask', 'address.zip': 'hash' }
const salt = 'unit-test-salt-0123'

const dirs: string[] = []
const lakes: TestLake[] = []
afterAll(async () => {
  for (const l of lakes) await l.close()
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }))
})

/** A lake of two tables; `runQuery` takes the catalog and the tables (`run` binds the catalog). */
async function lake(rows: Array<Record<string, unknown>>): Promise<LakeTable[] & { catalog: Catalog }> {
  const root = tempDir('trib-sql-access-')
  dirs.push(root)
  const opened = await openTestLake(root)
  lakes.push(opened)
  const tables: LakeTable[] = []
  for (const [product, port] of [['people', 'persons'], ['people', 'secret']] as const) {
    const identifier = tableId(product, port)
    const t = await opened.catalog.createTable(identifier, tableRequest({ avroSchema: schema }))
    await t.newSnapshot({ addRows: rows })
    tables.push({ name: `${product}.${port}`, product, port, identifier })
  }
  return Object.assign(tables, { catalog: opened.catalog })
}

const access = (overrides: Partial<TableAccess> = {}): TableAccess => ({
  check: (named) => named.forEach((t) => {
    if (t.port === 'secret') throw new TributaryError('TRIB_HTTP_FORBIDDEN', `may not read ${t.name}`)
  }),
  readable: (t) => t.port !== 'secret',
  redaction: (t) => (t.port === 'persons' ? pii : undefined),
  salt,
  ...overrides,
})

describe('the tables a statement names, from DuckDB’s parse tree', () => {
  it('finds them in CTEs, subqueries, joins and set operations, quoted or not', async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    const names = async (sql: string) => namedTables(await assertReadOnly(conn, sql)).map((n) => `${n.schema}.${n.table}`).sort()
    expect(await names('WITH x AS (SELECT * FROM "user-profiles".profiles) SELECT * FROM x')).toEqual(['.x', 'user-profiles.profiles'])
    expect(await names('SELECT 1 WHERE 2 IN (SELECT a FROM a.b) UNION ALL SELECT k FROM c.d JOIN memory.e.f USING (k)')).toEqual(['a.b', 'c.d', 'e.f'])
    expect(await names('SELECT (SELECT max(x) FROM "A"."B") AS m')).toEqual(['A.B'])
    conn.closeSync()
    instance.closeSync()
  })
})

describe('SQL for one reader', () => {
  it('refuses a statement naming a table the reader may not read, before it runs', async () => {
    const tables = await lake([{ id: 1, email: 'a@b.c', name: null, city: null, address: null }])
    for (const sql of ['SELECT * FROM people.secret', 'WITH s AS (SELECT * FROM "people"."SECRET") SELECT count(*) FROM s', 'SELECT * FROM people.persons WHERE id IN (SELECT id FROM people.secret)'])
      expect((await failure(runQuery(tables.catalog, tables, sql, { access: access() }))).code, sql).toBe('TRIB_HTTP_FORBIDDEN')
  })

  it('gives it no view of such a table, so a name in a string finds nothing either', async () => {
    const tables = await lake([{ id: 1, email: 'a@b.c', name: null, city: null, address: null }])
    const open = access({ check: () => undefined })
    const e = await failure(runQuery(tables.catalog, tables, `SELECT * FROM query_table('people.secret')`, { access: open }))
    expect(e.code).toBe('TRIB_QUERY_UNKNOWN_TABLE')
    expect(e.message).toMatch(/the lake has: people\.persons$/)
    const views = await runQuery(tables.catalog, tables, `SELECT schema_name || '.' || view_name AS v, sql FROM duckdb_views() WHERE NOT internal`, { access: open })
    expect(views.rows.map((r) => r[0])).toEqual(['people.persons'])
    // The salt stays in this process: the view calls a function, it does not hold the salt.
    expect(JSON.stringify(views.rows)).not.toContain(salt)
  })

  it("shows the reader's PII variant exactly as the subscriptions do (generated values)", async () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 })
    const row = fc.record({
      email: text,
      name: fc.option(text, { nil: null }),
      city: fc.option(text, { nil: null }),
      address: fc.option(fc.record({ street: fc.option(text, { nil: null }), zip: text }), { nil: null }),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 40 }), async (generated) => {
        const rows = generated.map((r, id) => ({ id, ...r }))
        const tables = await lake(rows)
        const result = await runQuery(tables.catalog, tables, 'SELECT * FROM people.persons ORDER BY id', { access: access() })
        const redact = compilePolicy(pii, salt)
        const expected = rows.map((r) => redact(r))
        expect(result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])))).toEqual(expected)
      }),
      { numRuns: 8 },
    )
  })
})

describe('an empty reader policy', () => {
  it('shows the table as it is', async () => {
    const tables = await lake([{ id: 1, email: 'a@b.c', name: 'Ada', city: 'Berlin', address: null }])
    const result = await runQuery(tables.catalog, tables, 'SELECT email, name, city FROM people.persons', { access: access({ redaction: () => ({}) }) })
    expect(result.rows).toEqual([['a@b.c', 'Ada', 'Berlin']])
  })
})

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertReadOnly, sandbox } from '../../../runtime/query/guard.ts'

let instance: DuckDBInstance
let conn: DuckDBConnection
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:')
  conn = await instance.connect()
  await conn.run('CREATE TABLE t AS SELECT 1 AS id')
})
afterAll(() => {
  conn?.closeSync()
  instance?.closeSync()
})

const refusal = (sql: string) =>
  assertReadOnly(conn, sql).then(
    () => 'allowed',
    (e: { code?: string }) => e.code,
  )

describe('the read-only guard of queries', () => {
  it('allows one SELECT, WITH … SELECT, set operations and a trailing semicolon', async () => {
    for (const sql of ['SELECT * FROM t', 'with x as (select id from t) select * from x', 'SELECT 1 UNION ALL SELECT 2', 'SELECT 1;', '  select 1 ; '])
      expect([sql, await refusal(sql)]).toEqual([sql, 'allowed'])
  })

  it('refuses writes, DDL, ATTACH, COPY, PRAGMA, SET, INSTALL/LOAD, EXPORT and CALL as TRIB_QUERY_FORBIDDEN', async () => {
    const writes = [
      'INSERT INTO t VALUES (2)',
      'UPDATE t SET id = 3',
      'DELETE FROM t',
      'CREATE TABLE u (a INT)',
      'CREATE VIEW v AS SELECT 1',
      'DROP TABLE t',
      'ALTER TABLE t ADD COLUMN b INT',
      "ATTACH 'other.db' AS other",
      'DETACH other',
      "COPY t TO '/tmp/out.csv'",
      "COPY (SELECT 1) TO '/tmp/out.parquet'",
      'PRAGMA enable_profiling',
      "SET allowed_directories = ['/']",
      'INSTALL httpfs',
      'LOAD httpfs',
      "EXPORT DATABASE '/tmp/x'",
      'CALL pragma_version()',
      'CHECKPOINT',
      'VACUUM',
      'BEGIN TRANSACTION',
      'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x',
    ]
    for (const sql of writes) expect([sql, await refusal(sql)]).toEqual([sql, 'TRIB_QUERY_FORBIDDEN'])
    // Nothing of it ran.
    expect((await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()).toEqual([[1n]])
  })

  it('refuses more than one statement, also a write hidden after a SELECT, and an empty query', async () => {
    for (const sql of ['SELECT 1; SELECT 2', 'SELECT 1; DROP TABLE t', '', '  ;  ']) expect([sql, await refusal(sql)]).toEqual([sql, 'TRIB_QUERY_FORBIDDEN'])
  })

  it('a syntax error is TRIB_QUERY_INVALID, not a refusal', async () => {
    expect(await refusal('SELEKT 1')).toBe('TRIB_QUERY_INVALID')
  })
})

describe('the sandboxed connection', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

  it('reads files in the allowed folder only, and cannot be unlocked', async () => {
    const lake = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-'))
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-outside-'))
    dirs.push(lake, outside)
    fs.writeFileSync(path.join(lake, 'in.csv'), 'a\n1\n')
    fs.writeFileSync(path.join(outside, 'secret.csv'), 'a\n2\n')
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    try {
      await sandbox(c, [lake])
      expect((await c.runAndReadAll(`SELECT a FROM read_csv('${lake}/in.csv')`)).getRows()).toEqual([[1n]])
      await expect(c.run(`SELECT a FROM read_csv('${outside}/secret.csv')`)).rejects.toThrow(/Permission|not allowed|disabled/i)
      await expect(c.run('SET enable_external_access = true')).rejects.toThrow()
    } finally {
      c.closeSync()
      db.closeSync()
    }
  })
})

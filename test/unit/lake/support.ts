import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'
import { duckdb } from '../../../runtime/lake/duckdb.ts'
import type { Table } from '../../../runtime/lake/table.ts'

/** A temp-dir factory for one test file; every folder it made is removed after each test. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    dirs.push(d)
    return d
  }
}

/** The sorted first column (the ids) of a table's rows at a snapshot, read through DuckDB. */
export async function ids(table: Table, selector: Parameters<Table['sql']>[0] = {}): Promise<number[]> {
  const conn = await duckdb()
  try {
    return (await conn.runAndReadAll(await table.sql(selector))).getRows().map((r) => Number(r[0])).sort((a, b) => a - b)
  } finally {
    conn.closeSync()
  }
}

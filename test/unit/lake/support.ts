import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach } from 'vitest'
import { openStorageProvider } from '../../../connectors/storage/index.ts'
import { tableId, type TableIdentifier } from '../../../runtime/lake/catalog/identifier.ts'
import { tableRequest, type CreateTableOptions } from '../../../runtime/lake/iceberg/create.ts'
import { lakeResources, type LakeResources } from '../../../runtime/lake/resources.ts'
import type { Table } from '../../../runtime/lake/table.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'

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

/** Lake resources for tests of the parts below the catalog (writers, manifests); closed after the file's tests. */
export function testResources(): LakeResources {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-cache-'))
  const lake = lakeResources({ storage: openStorageProvider(), cacheDir })
  afterAll(async () => {
    await lake.close()
    fs.rmSync(cacheDir, { recursive: true, force: true })
  })
  return lake
}

/** A file lake in a temp folder with one table name in mind (`t.main`, at `<root>/t/main`). */
export interface LakeFixture extends TestLake {
  root: string
  id: TableIdentifier
  /** The table's folder. */
  dir: string
  create(options: CreateTableOptions): Promise<Table>
  load(): Promise<Table>
}

/** A factory of fresh lakes for one test file; each is closed and removed after its test. */
export function tempLakes(prefix: string): () => Promise<LakeFixture> {
  const tempDir = tempDirs(prefix)
  const open: TestLake[] = []
  afterEach(async () => {
    for (const l of open.splice(0)) await l.close()
  })
  return async () => {
    const root = tempDir()
    const lake = await openTestLake(`file://${root}`)
    open.push(lake)
    const id = tableId('t', 'main')
    return {
      ...lake,
      root,
      id,
      dir: path.join(root, 't', 'main'),
      create: (options) => lake.catalog.createTable(id, tableRequest(options)),
      load: () => lake.catalog.loadTable(id),
    }
  }
}

/** The sorted first column (the ids) of a table's rows at a snapshot, read through DuckDB. */
export async function ids(table: Table, selector: Parameters<Table['sql']>[0] = {}): Promise<number[]> {
  const conn = await table.lake.duckdb.connect()
  try {
    return (await conn.runAndReadAll(await table.sql(selector))).getRows().map((r) => Number(r[0])).sort((a, b) => a - b)
  } finally {
    conn.closeSync()
  }
}

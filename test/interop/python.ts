import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { ScanPlan } from '../../runtime/lake/read/scan.ts'
import { toSnapshotId, type SnapshotId } from '../../runtime/lake/iceberg/ids.ts'
import { parseExact } from '../../runtime/codec/json/exact.ts'
import { writeJson } from '../../runtime/codec/json/write.ts'
import { duckdbType } from '../../runtime/lake/duckdb.ts'
import { defaultPathOf } from '../../runtime/lake/read/sql.ts'

/**
 * The real Python readers (pyiceberg, DuckDB python) behind test/interop/read_table.py. The venv is
 * created on first use by test/infra/python-venv.sh (a minute or so), and reused after.
 */
export const repoRoot = path.resolve(import.meta.dirname, '../..')
let python: string | undefined

export function pythonPath(): string {
  python ??= execFileSync('bash', [path.join(repoRoot, 'test/infra/python-venv.sh')], { encoding: 'utf8', timeout: 15 * 60_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  return python
}

export type Row = Record<string, unknown>

function run(args: string[]): Row[] {
  const out = execFileSync(pythonPath(), [path.join(repoRoot, 'test/interop/read_table.py'), ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 120_000 })
  return JSON.parse(out) as Row[]
}

/** Rows pyiceberg reads for a metadata file (or table directory) at a snapshot or ref. */
export function pyicebergRows(location: string, at: { snapshotId?: SnapshotId; ref?: string } = {}): Row[] {
  const args = ['pyiceberg', location]
  if (at.snapshotId !== undefined) args.push('--snapshot-id', String(at.snapshotId))
  if (at.ref !== undefined) args.push('--ref', at.ref)
  return run(args)
}

/** Rows DuckDB's iceberg extension (iceberg_scan) reads for a metadata file at a snapshot. */
export function duckdbIcebergRows(location: string, snapshotId?: SnapshotId): Row[] {
  return run(['duckdb-iceberg', location, ...(snapshotId !== undefined ? ['--snapshot-id', String(snapshotId)] : [])])
}

/** pyiceberg's own scan plan: each data file with the delete files it applies. */
export function pyicebergFiles(location: string, snapshotId?: SnapshotId): { file: string; records: number; deletes: string[] }[] {
  const args = ['pyiceberg-files', location]
  if (snapshotId !== undefined) args.push('--snapshot-id', String(snapshotId))
  return run(args) as unknown as { file: string; records: number; deletes: string[] }[]
}

/** What read_table.py's DuckDB mode reads: the plan's files and its columns by field id. */
const planJson = (plan: ScanPlan) => ({
  columns: plan.schema.fields.map((f) => ({ id: f.id, name: f.name, type: duckdbType(f.type) })),
  data: plan.tasks.map((t) => defaultPathOf(t.dataFile.filePath)),
  deletes: plan.deleteFiles.map((f) => defaultPathOf(f.filePath)),
})

/** Runs read_table.py with a JSON argument file. */
function runWithFile(mode: string, content: unknown): unknown {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trib-plan-')), 'plan.json')
  try {
    fs.writeFileSync(file, JSON.stringify(content))
    return run([mode, file])
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true })
  }
}

/** Rows DuckDB (python) reads from the files of our scan plan, applying deletes by position. */
export function duckdbRows(plan: ScanPlan): Row[] {
  return runWithFile('duckdb', planJson(plan)) as Row[]
}

/** duckdbRows for several plans in one python process, by key. */
export function duckdbRowsOfPlans(plans: ReadonlyMap<string, ScanPlan>): Map<string, Row[]> {
  const out = runWithFile('duckdb-plans', Object.fromEntries([...plans].map(([k, p]) => [k, planJson(p)]))) as Record<string, Row[]>
  return new Map(Object.entries(out))
}

/** Rows DuckDB's iceberg extension (iceberg_scan) reads at every snapshot a metadata file lists, by snapshot id (decimal text). */
export function duckdbIcebergRowsOfSnapshots(metadataFile: string): Map<string, Row[]> {
  return new Map(Object.entries(run(['duckdb-iceberg-snapshots', metadataFile]) as unknown as Record<string, Row[]>))
}

/** Rows pyiceberg reads at every snapshot a metadata file lists, by snapshot id (decimal text), in one python process. */
export function pyicebergRowsOfSnapshots(metadataFile: string): Map<string, Row[]> {
  return new Map(Object.entries(run(['pyiceberg-snapshots', metadataFile]) as unknown as Record<string, Row[]>))
}

export function parquetSchema(file: string): { name: string; field_id: number | null; type: string | null; logical_type: string | null; repetition: string }[] {
  return run(['parquet-schema', file]) as unknown as ReturnType<typeof parquetSchema>
}

/** Rows sorted by `key` for order-free comparison. */
export const sortBy = (rows: Row[], key = 'id'): Row[] => [...rows].sort((a, b) => Number(a[key]) - Number(b[key]))

/**
 * pyiceberg committing to a table of a file-system lake as another engine would (write_table.py:
 * append, delete, overwrite, rewrite, expire, tag, add_column), with its own 63-bit snapshot ids, manifests and
 * data files. Returns the new metadata file and the snapshots the operation added.
 */
export function pyicebergWrite(lakeRoot: string, table: string, operation: string, args: unknown = {}): { metadata: string; snapshots: SnapshotId[] } {
  const out = execFileSync(pythonPath(), [path.join(repoRoot, 'test/interop/write_table.py'), lakeRoot, table, operation, writeJson(args)], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
    timeout: 120_000,
  })
  // The ids are beyond 2^53: parsed exactly, as the runtime parses metadata.
  const result = parseExact(out) as { metadata: string; snapshots: unknown[] }
  return { metadata: result.metadata, snapshots: result.snapshots.map((id) => toSnapshotId(id)!) }
}

/** Rows pyiceberg reads, in Iceberg's physical terms as exact text (see read_table.py pyiceberg-raw). */
export function pyicebergRawRows(location: string): Row[] {
  return run(['pyiceberg-raw', location])
}

/** Values in one comparable form: timestamps as epoch micros, everything else as given. */
function comparable(v: unknown): unknown {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}/.test(v)) {
    const m = /^(.*?)(?:\.(\d+))?(Z|\+00(?::00)?)?$/.exec(v.replace(' ', 'T'))!
    return `${Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6))}`
  }
  return v
}

/** Rows as sorted JSON texts of comparable values: equal when two readers returned the same rows in any order. */
export const canonicalRows = (rows: Row[]): string[] => rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, comparable(v)])))).sort()

export interface RestRead {
  /** One level, or several (a major below its product: ['user-profiles', 'v2']). */
  namespace: string | string[]
  table: string
  snapshot_id?: SnapshotId | null
  ref?: string | null
}

export interface RestClientResult {
  /** What the client lists: [namespace, table], or [...levels, table] (pyiceberg, nested namespaces). */
  tables: string[][]
  /** pyiceberg only: each read table's refs, name → snapshot id. */
  refs: Record<string, Record<string, SnapshotId>>
  reads: Array<Row[] | { error: string }>
}

/**
 * A real client of the served Iceberg REST catalog (test/interop/rest_catalog.py): pyiceberg's
 * RestCatalog or DuckDB's ATTACH … TYPE iceberg. Asynchronous, so a catalog served by this very
 * process keeps answering while the client runs.
 */
export async function restCatalogClient(client: 'pyiceberg' | 'duckdb', uri: string, plan: { token?: string | null; nested?: boolean; reads: RestRead[] }): Promise<RestClientResult> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trib-rest-plan-')), 'plan.json')
  try {
    // Snapshot ids are 63-bit: written and read back exactly.
    fs.writeFileSync(file, writeJson(plan))
    const { stdout } = await promisify(execFile)(pythonPath(), [path.join(repoRoot, 'test/interop/rest_catalog.py'), client, uri, file], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 300_000 })
    return parseExact(stdout) as RestClientResult
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true })
  }
}

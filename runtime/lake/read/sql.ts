import { TributaryError } from '../../errors.ts'
import { duckdbType, quoteIdent, quoteString, readSchemaOption } from '../duckdb.ts'
import type { ScanPlan } from './scan.ts'
import type { LakeResources } from '../resources.ts'
import type { LakeStorage } from '../storage.ts'

/**
 * A scan plan as the body of a DuckDB view: the data files read by field id (the snapshot's schema;
 * columns a file lacks read as NULL, renamed ones by id), anti-joined with the position deletes on
 * (file, row number). Delete files store data files as URIs while DuckDB reports the path it was
 * given, so both sides go through the same mapping: `file://` URIs become local paths, other URIs
 * (s3://…) are read as they are unless `pathOf` maps them (Table.localSql maps them to cached
 * local copies).
 */
export interface ScanSqlOptions {
  /** What DuckDB should read for a file URI (default: local path for file://, else the URI). */
  pathOf?: (uri: string) => string
  /**
   * Also select each row's position: `_file` (the data file's URI, as manifests and delete files
   * name it, whatever path DuckDB read) and `_pos` (row number in it).
   */
  positions?: boolean
}

export const defaultPathOf = (uri: string): string => uri.replace(/^file:(\/\/)?(?=\/)/, '')

/** SQL expression mapping a URI column the same way `defaultPathOf` maps strings. */
const SQL_PATH_OF = (column: string): string => `regexp_replace(${column}, '^file:(//)?(/)', '\\2')`

export function scanToSql(plan: ScanPlan, options: ScanSqlOptions = {}): string {
  const pathOf = options.pathOf ?? defaultPathOf
  const fields = plan.schema.fields
  const columns = [...fields.map((f) => `d.${quoteIdent(f.name)}`), ...(options.positions ? ['m.uri AS "_file"', 'd.file_row_number AS "_pos"'] : [])].join(', ') || '1 AS "empty"'
  if (plan.tasks.length === 0) {
    const typed =
      [...fields.map((f) => `CAST(NULL AS ${duckdbType(f.type)}) AS ${quoteIdent(f.name)}`), ...(options.positions ? ['CAST(NULL AS VARCHAR) AS "_file"', 'CAST(NULL AS BIGINT) AS "_pos"'] : [])].join(', ') ||
      '1 AS "empty"'
    return `SELECT ${typed} WHERE false`
  }
  const list = (uris: string[]): string => `[${uris.map((u) => quoteString(pathOf(u))).join(', ')}]`
  // The data files' (uri, path) pairs: maps DuckDB's filename back to the URI, and delete rows to paths.
  const files = `(VALUES ${plan.tasks.map((t) => `(${quoteString(t.dataFile.filePath)}, ${quoteString(pathOf(t.dataFile.filePath))})`).join(', ')})`
  const data = `read_parquet(${list(plan.tasks.map((t) => t.dataFile.filePath))}, filename = true, file_row_number = true, schema = ${readSchemaOption(fields)})`
  const from = `${data} AS d${options.positions ? ` JOIN ${files} AS m(uri, path) ON m.path = d.filename` : ''}`
  if (plan.deleteFiles.length === 0) return `SELECT ${columns} FROM ${from}`
  const mapped = options.pathOf ? 'x.file_path' : SQL_PATH_OF('x.file_path')
  // With a custom mapping, delete rows are mapped in SQL through the (uri, path) pairs.
  const deletes = options.pathOf
    ? `(SELECT p.path AS file_path, x.pos FROM read_parquet(${list(plan.deleteFiles.map((f) => f.filePath))}) AS x JOIN ${files} AS p(uri, path) ON p.uri = x.file_path)`
    : `(SELECT ${mapped} AS file_path, x.pos FROM read_parquet(${list(plan.deleteFiles.map((f) => f.filePath))}) AS x)`
  return `SELECT ${columns} FROM ${from} ANTI JOIN ${deletes} AS x ON x.file_path = d.filename AND x.pos = d.file_row_number`
}

/**
 * The `pathOf` that makes a plan's files readable by DuckDB: undefined when the storage has local
 * paths (the default mapping already reads them), else a mapping to cached local copies, every
 * data and delete file of the plan fetched before it returns. Either way a file the plan names but
 * the storage lacks is TRIB_LAKE_FILE_NOT_FOUND naming it, before DuckDB reads anything.
 */
export async function localPathOf(lake: LakeResources, storage: LakeStorage, plan: ScanPlan): Promise<((uri: string) => string) | undefined> {
  const files = [...plan.tasks.map((t) => t.dataFile), ...plan.deleteFiles].map((f) => ({ uri: f.filePath, size: f.fileSizeInBytes }))
  if (storage.localPath(storage.root) !== undefined) {
    const present = await Promise.all(files.map((f) => storage.exists(f.uri)))
    const missing = files.find((_, i) => !present[i])
    if (missing !== undefined) {
      throw new TributaryError('TRIB_LAKE_FILE_NOT_FOUND', `${missing.uri} is missing from the lake storage (snapshot ${plan.snapshot?.['snapshot-id']} refers to it); see tributary doctor`, {
        details: { file: missing.uri, snapshotId: plan.snapshot?.['snapshot-id'] },
      })
    }
    return undefined
  }
  const local = await lake.cache.localCopies(storage, files)
  return (uri) => local.get(uri) ?? uri
}

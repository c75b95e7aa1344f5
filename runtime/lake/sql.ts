import { duckdbType, quoteIdent, quoteString, readSchemaOption } from './duckdb.ts'
import type { ScanPlan } from './scan.ts'

/**
 * A scan plan as the body of a DuckDB view: the data files read by field id (the snapshot's schema;
 * columns a file lacks read as NULL, renamed ones by id), anti-joined with the position deletes on
 * (file, row number). Delete files store data files as URIs while DuckDB reports the path it was
 * given, so both sides go through the same mapping: `file://` URIs become local paths, other URIs
 * (s3://…) are read as they are.
 */
export interface ScanSqlOptions {
  /** What DuckDB should read for a file URI (default: local path for file://, else the URI). */
  pathOf?: (uri: string) => string
  /** Also select each row's position: `_file` (the path DuckDB read) and `_pos` (row number in it). */
  positions?: boolean
}

export const defaultPathOf = (uri: string): string => uri.replace(/^file:(\/\/)?(?=\/)/, '')

/** SQL expression mapping a URI column the same way `defaultPathOf` maps strings. */
const SQL_PATH_OF = (column: string): string => `regexp_replace(${column}, '^file:(//)?(/)', '\\2')`

export function scanToSql(plan: ScanPlan, options: ScanSqlOptions = {}): string {
  const pathOf = options.pathOf ?? defaultPathOf
  const fields = plan.schema.fields
  const columns = [...fields.map((f) => `d.${quoteIdent(f.name)}`), ...(options.positions ? ['d.filename AS "_file"', 'd.file_row_number AS "_pos"'] : [])].join(', ') || '1 AS "empty"'
  if (plan.tasks.length === 0) {
    const typed =
      [...fields.map((f) => `CAST(NULL AS ${duckdbType(f.type)}) AS ${quoteIdent(f.name)}`), ...(options.positions ? ['CAST(NULL AS VARCHAR) AS "_file"', 'CAST(NULL AS BIGINT) AS "_pos"'] : [])].join(', ') ||
      '1 AS "empty"'
    return `SELECT ${typed} WHERE false`
  }
  const list = (uris: string[]): string => `[${uris.map((u) => quoteString(pathOf(u))).join(', ')}]`
  const data = `read_parquet(${list(plan.tasks.map((t) => t.dataFile.filePath))}, filename = true, file_row_number = true, schema = ${readSchemaOption(fields)})`
  if (plan.deleteFiles.length === 0) return `SELECT ${columns} FROM ${data} AS d`
  const mapped = options.pathOf ? 'x.file_path' : SQL_PATH_OF('x.file_path')
  // With a custom mapping, delete rows are mapped in JS: a VALUES table of (uri, path) pairs.
  const deletes = options.pathOf
    ? `(SELECT m.path AS file_path, x.pos FROM read_parquet(${list(plan.deleteFiles.map((f) => f.filePath))}) AS x JOIN (VALUES ${plan.tasks.map((t) => `(${quoteString(t.dataFile.filePath)}, ${quoteString(pathOf(t.dataFile.filePath))})`).join(', ')}) AS m(uri, path) ON m.uri = x.file_path)`
    : `(SELECT ${mapped} AS file_path, x.pos FROM read_parquet(${list(plan.deleteFiles.map((f) => f.filePath))}) AS x)`
  return `SELECT ${columns} FROM ${data} AS d ANTI JOIN ${deletes} AS x ON x.file_path = d.filename AND x.pos = d.file_row_number`
}

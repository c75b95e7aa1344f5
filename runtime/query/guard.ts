import type { DuckDBConnection } from '@duckdb/node-api'
import { TributaryError } from '../errors.ts'
import { quoteString } from '../lake/duckdb.ts'

/**
 * Queries over the lake are read-only. Two layers: the statement must be one SELECT (DuckDB's own
 * parser decides, through json_serialize_sql, which serializes SELECT statements only), and the
 * connection runs sandboxed (external access off, only the lake's folder readable), so table
 * functions such as read_csv('/etc/passwd') or a URL cannot reach outside the lake either.
 */
export async function assertReadOnly(conn: DuckDBConnection, sql: string): Promise<ParsedStatement> {
  const text = sql.trim().replace(/;\s*$/, '')
  if (text === '') throw forbidden('the query is empty')
  const result = await conn.runAndReadAll(`SELECT json_serialize_sql(${quoteString(text)})`)
  const parsed = JSON.parse(String(result.getRows()[0]![0])) as { error?: boolean; error_message?: string; error_type?: string; statements?: unknown[] }
  if (parsed.error) {
    if (parsed.error_type === 'parser') throw new TributaryError('TRIB_QUERY_INVALID', `syntax error: ${firstLine(parsed.error_message)}`)
    throw forbidden(`${statementKind(text)} statements are not allowed: queries are read-only (SELECT, WITH … SELECT)`)
  }
  if ((parsed.statements?.length ?? 0) !== 1) throw forbidden('one statement per query')
  return parsed.statements![0] as ParsedStatement
}

/** DuckDB's parse tree of one statement (json_serialize_sql). */
export type ParsedStatement = object

/** A table a statement names: `schema.table` (schema empty when unqualified). */
export interface TableName {
  schema: string
  table: string
}

/**
 * Every base table the statement names, anywhere in its parse tree (CTEs, subqueries, joins, set
 * operations). Names that a CTE defines are included too: callers match them against real tables.
 * Table functions that take a table's name as text (query_table) are not seen here; the query
 * runner gives such a reader no view of a table it may not read, so they find nothing.
 */
export function namedTables(statement: ParsedStatement): TableName[] {
  const out: TableName[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (!node || typeof node !== 'object') return
    const n = node as Record<string, unknown>
    if (n.type === 'BASE_TABLE' && typeof n.table_name === 'string') out.push({ schema: typeof n.schema_name === 'string' ? n.schema_name : '', table: n.table_name })
    for (const v of Object.values(n)) walk(v)
  }
  walk(statement)
  return out
}

const forbidden = (why: string) => new TributaryError('TRIB_QUERY_FORBIDDEN', why)
const firstLine = (s = '') => s.split('\n')[0]!.replace(/^Parser Error: /, '')
const statementKind = (sql: string) => (/^\s*([A-Za-z]+)/.exec(sql)?.[1] ?? 'such').toUpperCase()

/** Locks a connection down to reading the given folders. Irreversible for that connection's database. */
export async function sandbox(conn: DuckDBConnection, readable: readonly string[]): Promise<void> {
  const dirs = readable.map((d) => quoteString(d.endsWith('/') ? d : `${d}/`)).join(', ')
  await conn.run(`SET allowed_directories = [${dirs}]`)
  await conn.run('SET enable_external_access = false')
  await conn.run('SET lock_configuration = true')
}

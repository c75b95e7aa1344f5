import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TributaryError, isTributaryError, messageOf } from '../errors.ts'
import { lakeCacheDir, loadTable, joinPath, schemeOf, type ScanSelector } from '../lake/index.ts'
import { quoteIdent } from '../lake/duckdb.ts'
import type { Product } from '../product/load.ts'
import { snapshotTargets } from '../compactor/targets.ts'
import { assertReadOnly, sandbox } from './guard.ts'

/** A lake table as queries name it: `<product>.<port>` (or with underscores: `user_profiles.profiles`). */
export interface LakeTable {
  name: string
  product: string
  port: string
  location: string
}

/** The tables of these products that exist in the lake. */
export async function lakeTables(products: readonly Product[], lakeUri: string): Promise<LakeTable[]> {
  const out: LakeTable[] = []
  for (const product of products)
    for (const t of snapshotTargets(product)) {
      const location = joinPath(lakeUri, t.path)
      try {
        await loadTable(location)
        out.push({ name: t.name, product: t.product, port: t.port, location })
      } catch (e) {
        if (!isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw e
      }
    }
  return out
}

/** `--as-of`: a snapshot id, an ISO 8601 time, or a tag or branch name. */
export function parseAsOf(text: string | undefined): ScanSelector {
  if (text === undefined || text === '') return {}
  if (/^\d+$/.test(text)) return { snapshotId: Number(text) }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text)
    if (Number.isNaN(ms)) throw new TributaryError('TRIB_USAGE', `--as-of ${JSON.stringify(text)} is not a valid ISO 8601 time`)
    return { asOfTimestampMs: ms }
  }
  return { ref: text }
}

export interface QueryOptions {
  asOf?: ScanSelector
  /** At most this many rows are returned; `truncated` says whether there were more. */
  maxRows?: number
  timeoutMs?: number
}

export interface QueryResult {
  columns: string[]
  rows: unknown[][]
  truncated: boolean
}

/**
 * Runs one read-only SELECT over the lake's tables with DuckDB: each table is a view over its
 * snapshot's Parquet files (position deletes applied), at `asOf` when given. A table that cannot
 * be read (no such snapshot or tag at `asOf`, unreadable metadata, a missing file) has no view, so
 * a statement that names it fails with that table's own error, whatever it selects (even count(*)
 * or LIMIT 0), and a statement that does not name it runs. The instance is private and sandboxed
 * to the lake's folder (for object storage: the local read-through cache, see lake/cache.ts).
 */
export async function runQuery(tables: readonly LakeTable[], sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    await assertReadOnly(conn, sql)
    const readable = new Set<string>()
    const failed = new Map<LakeTable, unknown>()
    for (const t of tables) {
      const local = schemeOf(t.location) === 'file'
      // Views over object storage read cached copies, fetched when the view is made: only for
      // tables the statement can name (it must spell the port to reach the view).
      if (!local && !mentions(sql, t)) continue
      try {
        await createView(conn, t, options.asOf ?? {})
      } catch (e) {
        failed.set(t, e)
      }
      readable.add(!local ? lakeCacheDir() : t.location.startsWith('file:') ? fileURLToPath(t.location) : path.resolve(t.location))
    }
    await sandbox(conn, [...readable])
    return await execute(conn, sql, tables, options, failed)
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

/** The view of a table under both spellings of its name; its schemas exist even when its body fails. */
async function createView(conn: DuckDBConnection, t: LakeTable, asOf: ScanSelector): Promise<void> {
  const names = viewNames(t)
  for (const [schema] of names) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
  const table = await loadTable(t.location)
  // Without a time-travel selector, the table is what main publishes (the audit branch may be ahead).
  const body = await table.localSql(asOf)
  for (const [schema, view] of names) await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(view)} AS ${body}`)
}

const viewNames = (t: LakeTable): Array<[string, string]> =>
  underscore(t.product) !== t.product || underscore(t.port) !== t.port ? [[t.product, t.port], [underscore(t.product), underscore(t.port)]] : [[t.product, t.port]]

const underscore = (s: string): string => s.replace(/-/g, '_')

/** Whether the SQL text contains the table's view name in either spelling (identifiers ignore case). */
const mentions = (sql: string, t: LakeTable): boolean => {
  const text = sql.toLowerCase()
  return text.includes(t.port.toLowerCase()) || text.includes(underscore(t.port).toLowerCase())
}

async function execute(conn: DuckDBConnection, sql: string, tables: readonly LakeTable[], options: QueryOptions, failed: ReadonlyMap<LakeTable, unknown>): Promise<QueryResult> {
  const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER
  const timer = options.timeoutMs ? setTimeout(() => conn.interrupt(), options.timeoutMs) : undefined
  try {
    const reader = await conn.runAndReadUntil(sql.trim().replace(/;\s*$/, ''), maxRows + 1)
    const rows = convertRows(reader)
    return { columns: reader.deduplicatedColumnNames(), rows: rows.slice(0, maxRows), truncated: rows.length > maxRows }
  } catch (e) {
    throw queryError(e, sql, tables, options, failed)
  } finally {
    if (timer) clearTimeout(timer)
  }
}

function queryError(e: unknown, sql: string, tables: readonly LakeTable[], options: QueryOptions, failed: ReadonlyMap<LakeTable, unknown>): TributaryError {
  const text = messageOf(e).split('\n')[0]!
  const missing = /Table with name ([^\s]+) does not exist/.exec(text) ?? /Catalog "?([^"\s]+)"? does not exist/.exec(text)
  if (missing) {
    const known = tables.map((t) => t.name).join(', ') || 'none (run a product with a snapshot: block first)'
    // DuckDB names the table without its schema; show it as the query wrote it.
    const name = missing[1]!.replace(/"/g, '')
    const written = new RegExp(`((?:"[^"]+"|[\\w-]+)\\.)?"?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?(?![\\w"])`).exec(sql)?.[0]?.replace(/"/g, '') ?? name
    // A table that exists but could not be read: its own error, not "unknown table".
    const unreadable = [...failed].find(([t]) => viewNames(t).some(([schema, view]) => written === `${schema}.${view}` || (!written.includes('.') && written === view)))
    if (unreadable) {
      const [t, cause] = unreadable
      const code = cause instanceof TributaryError ? cause.code : 'TRIB_LAKE_CORRUPT'
      return new TributaryError(code, `table ${t.name}: ${messageOf(cause).split('\n')[0]}`, { cause, details: { table: t.name, ...(cause instanceof TributaryError ? cause.details : {}) } })
    }
    return new TributaryError('TRIB_QUERY_UNKNOWN_TABLE', `unknown table ${written}; the lake has: ${known}`, { cause: e })
  }
  if (/^Permission Error/.test(text)) return new TributaryError('TRIB_QUERY_FORBIDDEN', `queries read the lake's tables only (${text.replace(/^Permission Error: /, '')})`, { cause: e })
  if (/INTERRUPT/i.test(text)) return new TributaryError('TRIB_QUERY_FAILED', `the query ran longer than ${options.timeoutMs} ms and was stopped`, { cause: e })
  if (/Parser Error/.test(text)) return new TributaryError('TRIB_QUERY_INVALID', text.replace(/^Parser Error: /, 'syntax error: '), { cause: e })
  return new TributaryError('TRIB_QUERY_FAILED', text, { cause: e })
}

/** DuckDB values in the runtime's canonical JSON forms: safe integers as numbers, ISO timestamps. */
function convertRows(reader: DuckDBResultReader): unknown[][] {
  const types = reader.columnTypes().map((t) => t.typeId)
  // Bytes as base64, as everywhere else in Tributary's JSON (DuckDB's JSON form is an escaped string).
  const raw = types.includes(DuckDBTypeId.BLOB) ? reader.getRowsJS() : undefined
  return reader.getRowsJson().map((row, r) =>
    row.map((v, i) => {
      if (v === null) return null
      switch (types[i]) {
        case DuckDBTypeId.BLOB:
          return Buffer.from(raw![r]![i] as Uint8Array).toString('base64')
        case DuckDBTypeId.BIGINT:
        case DuckDBTypeId.HUGEINT:
        case DuckDBTypeId.UBIGINT: {
          const n = Number(v)
          return Number.isSafeInteger(n) ? n : v
        }
        case DuckDBTypeId.TIMESTAMP_TZ:
          return String(v).replace(' ', 'T').replace(/\+00(:00)?$/, 'Z')
        case DuckDBTypeId.TIMESTAMP:
        case DuckDBTypeId.TIMESTAMP_MS:
          return String(v).replace(' ', 'T')
        default:
          return v
      }
    }),
  )
}


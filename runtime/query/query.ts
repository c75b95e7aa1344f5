import { DuckDBInstance, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api'
import { TributaryError, isTributaryError, messageOf } from '../errors.ts'
import { formatIdentifier, parseSnapshotId, type Catalog, type ScanSelector, type Table, type TableIdentifier } from '../lake/index.ts'
import { quoteIdent, quoteString } from '../lake/duckdb.ts'
import { fromDuckDB } from '../lake/read/values.ts'
import type { PiiAction } from '../processor/policy.ts'
import { assertReadOnly, namedTables, sandbox } from './guard.ts'
import { redactedSql, registerRedaction } from './redact.ts'
import type { VersionBook } from '../lifecycle/book.ts'

/** A lake table as queries name it: `<schema>.<port>` (or with underscores: `user_profiles.profiles`). */
export interface LakeTable {
  name: string
  /** The product instance that owns the table (its namespace): access rules are that product's. */
  product: string
  /** The schema the query names it by (default `product`): a major's name, or a product's plain name. */
  schema?: string
  port: string
  identifier: TableIdentifier
}

/**
 * Every table in the lake, as the catalog lists it (namespace = product instance, name = port),
 * configured products or not. Listing reads no table metadata, so a damaged table is listed too:
 * its error surfaces only when a query reads it. With the version book, each major's tables are
 * also `<product>.v<N>.<port>` (`user_profiles_v1.profiles`), and the plain `<product>.<port>` is
 * the major the book says the product serves (the promoted one), not necessarily major 1.
 */
export async function lakeTables(catalog: Catalog, book?: VersionBook): Promise<LakeTable[]> {
  const namespaces = (await catalog.listNamespaces()).map((n) => n.join('.'))
  // A plain namespace belongs to the major that keeps the plain names: 0 or 1, as the book knows it.
  const instance = (namespace: string) => {
    const m = /^(.*)\.v(\d+)$/.exec(namespace)
    if (m) return { base: m[1]!, major: Number(m[2]) }
    return { base: namespace, major: book?.majorsOf(namespace).find((r) => r.major <= 1)?.major ?? 1 }
  }
  const majorsOf = (base: string) => namespaces.map(instance).filter((i) => i.base === base).map((i) => i.major)
  const out: LakeTable[] = []
  for (const namespace of await catalog.listNamespaces()) {
    const product = namespace.join('.')
    const { base, major } = instance(product)
    // The plain name first: it is the one messages show for the table.
    const schemas = book ? [...(book.served(base, majorsOf(base)) === major ? [base] : []), `${base}.v${major}`] : [product]
    for (const identifier of await catalog.listTables(namespace))
      for (const schema of schemas) out.push({ name: `${schema}.${identifier.name}`, product, schema, port: identifier.name, identifier })
  }
  return out
}

/** `--as-of`: a snapshot id, an ISO 8601 time, or a tag or branch name. */
export function parseAsOf(text: string | undefined): ScanSelector {
  if (text === undefined || text === '') return {}
  const id = parseSnapshotId(text)
  if (id !== undefined) return { snapshotId: id }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text)
    if (Number.isNaN(ms)) throw new TributaryError('TRIB_USAGE', `--as-of ${JSON.stringify(text)} is not a valid ISO 8601 time`)
    return { asOfTimestampMs: ms }
  }
  return { ref: text }
}

/**
 * What one reader of the SQL port may see. The CLI, which reads the lake's files itself, has none;
 * the HTTP port gives each request its caller's.
 */
export interface TableAccess {
  /** Throws when the reader may not read one of the tables the statement names; called before anything runs. */
  check(named: readonly LakeTable[]): void
  /** Tables the reader may not read get no view at all, so nothing in a statement can reach them. */
  readable(t: LakeTable): boolean
  /** The PII actions this reader sees applied to the table's columns (its port's reader policy). */
  redaction(t: LakeTable): Readonly<Record<string, PiiAction>> | undefined
  /** pii.salt, for hashed fields. */
  salt: string
}

export interface QueryOptions {
  access?: TableAccess
  asOf?: ScanSelector
  /** A dev environment's branch (`env.<name>`): read where a table has it, main elsewhere. */
  branch?: string
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
 * Runs one read-only SELECT over the lake's tables with DuckDB: each table the statement names is
 * a view over its snapshot's Parquet files (position deletes applied), at `asOf` when given. Each
 * table's failure stays with that table: one whose metadata or files cannot be read (or that
 * cannot resolve `asOf`) becomes a view that raises its error, so the query fails only if it reads
 * that table, with that table's error and code. The instance is private and sandboxed to the
 * tables' folders (for object storage: the local read-through cache, see lake/read/cache.ts).
 */
export async function runQuery(catalog: Catalog, tables: readonly LakeTable[], sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    const statement = await assertReadOnly(conn, sql)
    const named = tablesIn(namedTables(statement), tables)
    const { access } = options
    access?.check(named)
    const visible = access ? tables.filter((t) => access.readable(t)) : tables
    const redacted = new Map(visible.map((t) => [t, access?.redaction(t)] as const).filter(([, pii]) => pii !== undefined && Object.keys(pii).length > 0))
    const fn = redacted.size > 0 ? registerRedaction(conn, access!.salt) : ''
    const readable = new Set<string>()
    const failures = new Map<string, unknown>()
    for (const t of visible) {
      const root = await createView(conn, catalog, t, named.includes(t), options.asOf ?? {}, redacted.get(t) ?? undefined, fn, failures, options.branch)
      if (root) readable.add(root)
    }
    // A table the statement names but that cannot be read fails it, whatever it selects: a view
    // raising the error is not enough for `LIMIT 0` or `WHERE false`, which never evaluate it.
    const broken = named.find((t) => failures.has(t.name))
    if (broken) throw tableError(broken.name, failures.get(broken.name))
    await sandbox(conn, [...readable])
    try {
      return await execute(conn, sql, visible, options, failures)
    } catch (e) {
      throw (await damagedTable(e, catalog, named, options.asOf ?? {})) ?? e
    }
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

/** Creates the table's views; the local folder DuckDB reads them from, or undefined when there is none. */
async function createView(
  conn: DuckDBConnection,
  catalog: Catalog,
  t: LakeTable,
  named: boolean,
  asOf: ScanSelector,
  pii: Readonly<Record<string, PiiAction>> | undefined,
  fn: string,
  failures: Map<string, unknown>,
  branch?: string,
): Promise<string | undefined> {
  const schema = t.schema ?? t.product
  const names: Array<[string, string]> = [[schema, t.port]]
  if (underscore(schema) !== schema || underscore(t.port) !== t.port) names.push([underscore(schema), underscore(t.port)])
  const create = async (body: string): Promise<void> => {
    for (const [schema, view] of names) {
      await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
      await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(view)} AS ${body}`)
    }
  }
  let table: Table | undefined
  try {
    table = await catalog.loadTable(t.identifier)
    // Views over object storage read cached copies, fetched when the view is made: only for tables
    // the statement names.
    if (!named && table.storage.localPath('') === undefined) return undefined
    // Without a time-travel selector, the table is what main publishes (the audit branch may be ahead).
    const body = await table.localSql(branch && table.metadata.refs[branch] ? { ref: branch } : asOf)
    await create(pii ? redactedSql(body, pii, fn) : body)
    return table.localRoot
  } catch (e) {
    // DuckDB binds a view when it is made, so a missing or damaged Parquet file fails here too
    // (a damaged one is named: Table.readFailure).
    failures.set(t.name, table ? await table.readFailure(e, asOf).catch(() => e) : e)
    // In the filter, not the select list: DuckDB prunes unused columns, so `count(*)` over a view
    // that selects error() would count a row instead of failing.
    await create(`SELECT 1 AS failed WHERE error(${quoteString(`${FAILED}${t.name}`)}) IS NULL`)
    return undefined
  }
}

/** The message of a failed table's view: queryError finds the table's own error by it. */
const FAILED = 'tributary: failed table '


/** The spelling without quotes: dashes and the dot of a major (`user-profiles.v2`) become underscores. */
const underscore = (s: string): string => s.replace(/[-.]/g, '_')

/** The lake tables among the names a statement uses, in either spelling (identifiers ignore case). */
function tablesIn(names: ReadonlyArray<{ schema: string; table: string }>, tables: readonly LakeTable[]): LakeTable[] {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || a.toLowerCase() === underscore(b).toLowerCase()
  return tables.filter((t) => names.some((n) => n.schema !== '' && same(n.schema, t.schema ?? t.product) && same(n.table, t.port)))
}

async function execute(conn: DuckDBConnection, sql: string, tables: readonly LakeTable[], options: QueryOptions, failures: Map<string, unknown>): Promise<QueryResult> {
  const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER
  const timer = options.timeoutMs ? setTimeout(() => conn.interrupt(), options.timeoutMs) : undefined
  try {
    const reader = await conn.runAndReadUntil(sql.trim().replace(/;\s*$/, ''), maxRows + 1)
    const rows = convertRows(reader)
    return { columns: reader.deduplicatedColumnNames(), rows: rows.slice(0, maxRows), truncated: rows.length > maxRows }
  } catch (e) {
    throw queryError(e, sql, tables, options, failures)
  } finally {
    if (timer) clearTimeout(timer)
  }
}

function queryError(e: unknown, sql: string, tables: readonly LakeTable[], options: QueryOptions, failures: Map<string, unknown>): TributaryError {
  const text = messageOf(e).split('\n')[0]!
  const failed = text.indexOf(FAILED)
  if (failed >= 0) return tableError(text.slice(failed + FAILED.length), failures.get(text.slice(failed + FAILED.length)))
  const missing = /Table with name ([^\s]+) does not exist/.exec(text) ?? /Catalog "?([^"\s]+)"? does not exist/.exec(text)
  if (missing) {
    // Each table once, by the first of its names (its plain name when it has one).
    const seen = new Set<string>()
    const known = tables.filter((t) => !seen.has(formatIdentifier(t.identifier)) && seen.add(formatIdentifier(t.identifier))).map((t) => t.name).join(', ') || 'none (run a product with a snapshot: block first)'
    // DuckDB names the table without its schema; show it as the query wrote it.
    const name = missing[1]!.replace(/"/g, '')
    const written = new RegExp(`((?:"[^"]+"|[\\w-]+)\\.)?"?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?(?![\\w"])`).exec(sql)?.[0]?.replace(/"/g, '') ?? name
    return new TributaryError('TRIB_QUERY_UNKNOWN_TABLE', `unknown table ${written}; the lake has: ${known}`, { cause: e })
  }
  if (/^Permission Error/.test(text)) return new TributaryError('TRIB_QUERY_FORBIDDEN', `queries read the lake's tables only (${text.replace(/^Permission Error: /, '')})`, { cause: e })
  if (/INTERRUPT/i.test(text)) return new TributaryError('TRIB_QUERY_FAILED', `the query ran longer than ${options.timeoutMs} ms and was stopped`, { cause: e })
  if (/Parser Error/.test(text)) return new TributaryError('TRIB_QUERY_INVALID', text.replace(/^Parser Error: /, 'syntax error: '), { cause: e })
  return new TributaryError('TRIB_QUERY_FAILED', text, { cause: e })
}

/**
 * A statement that failed while reading: DuckDB reads a Parquet file's pages (and, with an explicit
 * schema, its footer) only when the statement runs, not when the view is made. The error of the
 * named table with a damaged file (Table.readFailure), naming it; undefined when none is damaged.
 */
async function damagedTable(e: unknown, catalog: Catalog, named: readonly LakeTable[], asOf: ScanSelector): Promise<TributaryError | undefined> {
  if (!isTributaryError(e, 'TRIB_QUERY_FAILED') || named.length === 0) return undefined
  for (const t of named) {
    const found = await catalog
      .loadTable(t.identifier)
      .then((table) => table.readFailure(e.cause, asOf))
      .catch(() => undefined)
    if (isTributaryError(found, 'TRIB_LAKE_CORRUPT')) return tableError(t.name, found)
  }
  return undefined
}

/** A failed table's own error, its code kept, its message naming the table. */
function tableError(name: string, e: unknown): TributaryError {
  const first = messageOf(e).split('\n')[0]!
  if (isTributaryError(e)) return new TributaryError(e.code, `table ${name}: ${first}`, { cause: e, details: { ...e.details, table: name } })
  return new TributaryError('TRIB_QUERY_FAILED', `table ${name}: ${first}`, { cause: e, details: { table: name } })
}

/** Result rows in the value model (lake/read/values.ts): every value read from its exact DuckDB type. */
function convertRows(reader: DuckDBResultReader): unknown[][] {
  const types = reader.columnTypes()
  return reader.getRows().map((row) => row.map((v, i) => fromDuckDB(v, types[i]!)))
}

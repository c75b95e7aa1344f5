import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api'
import { TributaryError } from '../../errors.ts'
import { narrow } from '../../codec/values/long.ts'
import { toBound, truncateLower, truncateUpper, type InternalValue } from '../iceberg/bounds.ts'
import { duckdbType, fieldIdsOption, quoteIdent, quoteString } from '../duckdb.ts'
import type { LakeResources } from '../resources.ts'
import { partitionPath, type PartitionTuple } from '../iceberg/partition.ts'
import type { LakeStorage } from '../storage.ts'
import type { DataFile, NestedField, PartitionSpec, Schema } from '../iceberg/types.ts'
import { columnConverter } from './values.ts'
import { ColumnBatch, writeFlatParquet } from './parquet-flat.ts'
import { partitionRows, rowAppender, rowsToBatches } from './rows.ts'

/**
 * Parquet data and delete files, one per partition tuple, with the Iceberg field ids in the file
 * schema (readers resolve columns by id; without them DuckDB and pyiceberg read NULLs) and Iceberg
 * column statistics. Two writers:
 * - tables of top-level primitive columns (every table an Avro record of primitives makes, and
 *   position deletes): the flat writer (parquet-flat.ts), filled from canonical rows (rows.ts) or
 *   straight from Avro bodies (avro-columns.ts), statistics gathered while filling;
 * - nested tables: rows converted column by column into DuckDB data chunks (no per-value SQL),
 *   appended to a temporary table and copied to Parquet; statistics from one aggregate query.
 *   DuckDB (1.5) writes every column optional, required or not (duckdb/duckdb#23051).
 */

export interface WriteFilesOptions {
  schema: Schema
  spec: PartitionSpec
  rows: readonly Record<string, unknown>[]
  /** Directory under the storage root (default 'data'); partitions add 'name=value' levels. */
  dir?: string
  /** 0 for data files (default), 1 for position delete files. */
  content?: 0 | 1
  /** For messages: the table the rows are for. */
  table?: string
  /** Keep full string bounds (delete files: readers match file_path bounds exactly). */
  fullStringBounds?: boolean
  /** Told which input rows went into each file, in file order (row i of the file is rows[indexes[i]]). */
  onFile?: (file: DataFile, rowIndexes: readonly number[]) => void
}

const CHUNK_ROWS = 2048

export async function writeParquetFiles(lake: LakeResources, storage: LakeStorage, options: WriteFilesOptions): Promise<DataFile[]> {
  if (options.rows.length === 0) return []
  return ColumnBatch.fits(options.schema) ? writeFlatFiles(lake, storage, options) : writeDuckDBFiles(lake, storage, options)
}

/** writeParquetFiles for a schema the flat writer stores. */
async function writeFlatFiles(lake: LakeResources, storage: LakeStorage, options: WriteFilesOptions): Promise<DataFile[]> {
  const { schema, spec } = options
  const out: DataFile[] = []
  for (const g of rowsToBatches(schema, spec, options.rows, options.table ?? storage.root)) {
    const dir = [options.dir ?? 'data', partitionPath(spec, schema, g.tuple)].filter(Boolean).join('/')
    const target = `${dir}/${randomUUID()}${options.content === 1 ? '-deletes' : ''}.parquet`
    const file = await writeBatchFile(lake, storage, g.batch, target, options.fullStringBounds === true)
    const described = { ...file, content: options.content ?? 0, partition: g.tuple }
    options.onFile?.(described, g.indexes)
    out.push(described)
  }
  return out
}

/**
 * writeParquetFiles through DuckDB, for any schema: what nested tables take, and the reference the
 * flat writer is tested against.
 */
export async function writeDuckDBFiles(lake: LakeResources, storage: LakeStorage, options: WriteFilesOptions): Promise<DataFile[]> {
  const { schema, spec, rows } = options
  const table = options.table ?? storage.root
  const converters = schema.fields.map((f) => columnConverter(f, table))
  const groups = partitionRows(schema, spec, rows, table)
  const conn = await lake.duckdb.connect()
  try {
    const out: DataFile[] = []
    for (const g of groups) {
      const dir = [options.dir ?? 'data', partitionPath(spec, schema, g.tuple)].filter(Boolean).join('/')
      const file = await writeOne(lake, storage, conn, options, converters, g.indexes, g.tuple, `${dir}/${randomUUID()}${options.content === 1 ? '-deletes' : ''}.parquet`)
      options.onFile?.(file, g.indexes)
      out.push(file)
    }
    return out
  } finally {
    conn.closeSync()
  }
}

async function writeOne(
  lake: LakeResources,
  storage: LakeStorage,
  conn: DuckDBConnection,
  options: WriteFilesOptions,
  converters: ReturnType<typeof columnConverter>[],
  rowIndexes: number[],
  tuple: PartitionTuple,
  target: string,
): Promise<DataFile> {
  const fields = options.schema.fields
  const tmpTable = `lake_${randomUUID().replace(/-/g, '')}`
  await conn.run(`CREATE TEMP TABLE ${tmpTable} (${fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`)
  try {
    const appender = await conn.createAppender(tmpTable)
    const types = fields.map((_, i) => appender.columnType(i))
    const column: DuckDBValue[] = []
    for (let start = 0; start < rowIndexes.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rowIndexes.length - start)
      const chunk = DuckDBDataChunk.create(types, n)
      for (let c = 0; c < fields.length; c++) {
        const name = (fields[c] as NestedField).name
        const conv = (converters[c] as (typeof converters)[number]).toDuckDB
        column.length = n
        for (let i = 0; i < n; i++) {
          const r = rowIndexes[start + i] as number
          column[i] = conv((options.rows[r] as Record<string, unknown>)[name], r)
        }
        chunk.setColumnValues(c, column)
      }
      appender.appendDataChunk(chunk)
    }
    appender.closeSync()
    const file = await copyToDataFile(lake, storage, conn, `SELECT * FROM ${tmpTable}`, fields, target, { fullStringBounds: options.fullStringBounds === true })
    return { ...file, content: options.content ?? 0, partition: tuple }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${tmpTable}`)
  }
}

/**
 * Copies the rows of a DuckDB query (columns named and typed as `fields`) to a Parquet file at
 * `target` with the fields' ids, and describes it as a data file (content 0, no partition: the
 * caller sets those). Also used by rewrites, which select straight from existing Parquet files.
 */
export async function copyToDataFile(
  lake: LakeResources,
  storage: LakeStorage,
  conn: DuckDBConnection,
  selectSql: string,
  fields: NestedField[],
  target: string,
  options: { fullStringBounds?: boolean } = {},
): Promise<DataFile> {
  const local = storage.localPath(target)
  const staging = stagingPath(local)
  try {
    if (local) await fs.mkdir(path.dirname(local), { recursive: true })
    await conn.run(`COPY (${selectSql}) TO ${quoteString(staging)} (FORMAT parquet, FIELD_IDS ${fieldIdsOption(fields)})`)
    const source = `read_parquet(${quoteString(staging)})`
    const { recordCount, stats } = await columnStats(conn, source, fields, options.fullStringBounds === true)
    return await publishStaged(lake, storage, staging, target, { recordCount, ...stats })
  } catch (e) {
    throw await stagingFailed(storage, staging, target, e)
  }
}

/**
 * The rows of a DuckDB query (columns named and typed as the schema's fields) as one Parquet data
 * file at `target`: through the flat writer when it stores the schema (each value read from its
 * exact DuckDB type, so the file marks required columns required), else with copyToDataFile.
 * Rewrites use it; the file is described as copyToDataFile describes it.
 */
export async function queryToDataFile(lake: LakeResources, storage: LakeStorage, conn: DuckDBConnection, selectSql: string, schema: Schema, target: string): Promise<DataFile> {
  if (!ColumnBatch.fits(schema)) return copyToDataFile(lake, storage, conn, selectSql, schema.fields, target)
  const batch = new ColumnBatch(schema)
  const append = rowAppender(schema)
  const result = await conn.stream(selectSql)
  const values: Array<InternalValue | null> = new Array(schema.fields.length)
  for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const columns = schema.fields.map((_, c) => chunk!.getColumnValues(c))
    for (let r = 0; r < chunk.rowCount; r++) {
      for (let c = 0; c < columns.length; c++) values[c] = internalOf(columns[c]![r] ?? null) ?? null
      append(batch, values)
    }
  }
  return writeBatchFile(lake, storage, batch, target, false)
}

/**
 * Writes a filled column batch (the columnar path, avro-columns.ts) as one unpartitioned Parquet
 * data file, with the statistics gathered while filling it.
 */
export async function writeColumnBatch(lake: LakeResources, storage: LakeStorage, batch: ColumnBatch): Promise<DataFile> {
  return writeBatchFile(lake, storage, batch, `data/${randomUUID()}.parquet`, false)
}

/** A column batch as the Parquet file `target` (content 0, no partition: the caller sets those). */
async function writeBatchFile(lake: LakeResources, storage: LakeStorage, batch: ColumnBatch, target: string, fullStringBounds: boolean): Promise<DataFile> {
  // The DuckDB path refuses through its closed instance; this one uses no DuckDB, so it asks.
  lake.assertOpen()
  const local = storage.localPath(target)
  const staging = stagingPath(local)
  try {
    if (local) await fs.mkdir(path.dirname(local), { recursive: true })
    await fs.writeFile(staging, await writeFlatParquet(batch.columns, batch.rows))
    return await publishStaged(lake, storage, staging, target, { recordCount: batch.rows, ...flatStats(batch, fullStringBounds) })
  } catch (e) {
    throw await stagingFailed(storage, staging, target, e)
  }
}

const stagingPath = (local: string | undefined): string =>
  local ? path.join(path.dirname(local), `.tmp-${path.basename(local)}`) : path.join(os.tmpdir(), `tributary-${randomUUID()}.parquet`)

/** Moves a staged Parquet file to its place in storage and describes it (content 0, no partition). */
async function publishStaged(lake: LakeResources, storage: LakeStorage, staging: string, target: string, described: { recordCount: number } & Stats): Promise<DataFile> {
  const local = storage.localPath(target)
  const size = (await fs.stat(staging)).size
  // On object storage the staged file also becomes the cached copy: audits read it back at once.
  if (!local) await lake.cache.seed(storage, storage.uri(target), staging)
  try {
    await storage.putFile(target, staging)
  } catch (e) {
    if (!local) await lake.cache.evict(storage.uri(target))
    throw e
  }
  return { content: 0, filePath: storage.uri(target), fileFormat: 'PARQUET', partition: {}, fileSizeInBytes: size, ...described }
}

async function stagingFailed(storage: LakeStorage, staging: string, target: string, e: unknown): Promise<TributaryError> {
  await fs.rm(staging, { force: true }).catch(() => undefined)
  if (e instanceof TributaryError) return e
  return new TributaryError('TRIB_LAKE_STORAGE', `writing Parquet file ${storage.uri(target)} failed: ${(e as Error).message}`, { cause: e, details: { path: storage.uri(target) } })
}

/** Iceberg column statistics from what a column batch kept while filling. */
function flatStats(batch: ColumnBatch, fullStrings: boolean): Stats {
  return icebergStats(
    batch.rows,
    batch.columns.map((c) => {
      const valueAt = (b: Uint8Array | undefined, from: number, to: number) => (b === undefined ? undefined : c.type === 'string' ? Buffer.from(b.subarray(from, to)).toString('utf8') : Buffer.from(b.subarray(from, to)))
      const [min, max] = c.minBytes ? [valueAt(c.minBytes, c.minStart, c.minEnd), valueAt(c.maxBytes, c.maxStart, c.maxEnd)] : [c.min, c.max]
      return { field: c.field, nonNull: c.nonNull, nans: c.nans, min, max }
    }),
    fullStrings,
  )
}

type Stats = Pick<DataFile, 'valueCounts' | 'nullValueCounts' | 'nanValueCounts' | 'lowerBounds' | 'upperBounds'>

/**
 * Value, null and NaN counts and bounds for the top-level primitive columns, in one query. DuckDB
 * takes -0 and 0 as equal, so for floating columns the zeros of each sign are counted and the
 * bounds follow Iceberg's order (-0 < 0), as the flat writer's do.
 */
async function columnStats(conn: DuckDBConnection, table: string, fields: NestedField[], fullStrings: boolean): Promise<{ recordCount: number; stats: Stats }> {
  const primitive = fields.filter((f) => typeof f.type === 'string')
  const floating = (f: NestedField) => f.type === 'float' || f.type === 'double'
  const select = primitive.flatMap((f) => {
    const c = quoteIdent(f.name)
    return floating(f)
      ? [`count(${c})`, `min(${c}) FILTER (WHERE NOT isnan(${c}))`, `max(${c}) FILTER (WHERE NOT isnan(${c}))`, `count(*) FILTER (WHERE isnan(${c}))`, `count(*) FILTER (WHERE ${c} = 0 AND signbit(${c}))`, `count(*) FILTER (WHERE ${c} = 0 AND NOT signbit(${c}))`]
      : [`count(${c})`, `min(${c})`, `max(${c})`]
  })
  const result = await conn.runAndReadAll(`SELECT ${['count(*)', ...select].join(', ')} FROM ${table}`)
  const row = result.getRows()[0] as DuckDBValue[]
  const total = Number(row[0])
  let at = 1
  const summaries = primitive.map((field) => {
    const [count, min, max] = row.slice(at, (at += 3))
    const summary: ColumnSummary = { field, nonNull: Number(count), nans: 0, min: internalOf(min ?? null), max: internalOf(max ?? null) }
    if (floating(field)) {
      const [nans, negativeZeros, zeros] = row.slice(at, (at += 3)).map(Number) as [number, number, number]
      summary.nans = nans
      if (summary.min === 0) summary.min = negativeZeros > 0 ? -0 : 0
      if (summary.max === 0) summary.max = zeros > 0 ? 0 : -0
    }
    return summary
  })
  return { recordCount: total, stats: icebergStats(total, summaries, fullStrings) }
}

/** What a file's statistics are made of, per top-level primitive column. */
interface ColumnSummary {
  field: NestedField
  nonNull: number
  nans: number
  min: InternalValue | undefined
  max: InternalValue | undefined
}

/**
 * Iceberg statistics from column summaries, whichever writer made them: value counts include
 * nulls, NaN counts for floating columns only, string bounds truncated (unless `fullStrings`),
 * binary bounds only for short values (they are not truncated).
 */
function icebergStats(total: number, summaries: ColumnSummary[], fullStrings: boolean): Stats {
  const stats = { valueCounts: new Map<number, number>(), nullValueCounts: new Map<number, number>(), nanValueCounts: new Map<number, number>(), lowerBounds: new Map<number, Buffer>(), upperBounds: new Map<number, Buffer>() }
  const bound = (v: InternalValue | undefined, side: 'lower' | 'upper'): InternalValue | undefined => {
    if (typeof v === 'string') return fullStrings ? v : side === 'lower' ? truncateLower(v) : truncateUpper(v)
    if (Buffer.isBuffer(v)) return v.length <= 64 || fullStrings ? v : undefined
    return v
  }
  for (const { field, nonNull, nans, min, max } of summaries) {
    const { id, type } = field
    stats.valueCounts.set(id, total)
    stats.nullValueCounts.set(id, total - nonNull)
    if (type === 'float' || type === 'double') stats.nanValueCounts.set(id, nans)
    const lower = bound(min, 'lower')
    const upper = bound(max, 'upper')
    const lo = lower === undefined ? undefined : toBound(type, lower)
    const hi = upper === undefined ? undefined : toBound(type, upper)
    if (lo) stats.lowerBounds.set(id, lo)
    if (hi) stats.upperBounds.set(id, hi)
  }
  return stats
}

/** A DuckDB value of a primitive column as an internal value (days, micros, unscaled bigint, bytes…), exactly. */
function internalOf(v: DuckDBValue): InternalValue | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v === 'bigint') return narrow(v)
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  const o = v as unknown as Record<string, unknown>
  if ('days' in o) return o.days as number
  // Exact: a micros count beyond 2^53 (before 1684, after 2255, infinity) stays a bigint.
  if ('micros' in o) return narrow(BigInt(o.micros as bigint | number))
  if ('value' in o && typeof o.value === 'bigint') return o.value
  if ('bytes' in o) return Buffer.from(o.bytes as Uint8Array)
  return undefined
}


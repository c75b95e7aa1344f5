import { TributaryError, isTributaryError } from '../../errors.ts'
import type { InternalValue } from '../iceberg/bounds.ts'
import { partitioner, tupleKey, type PartitionTuple, type PartitionValue } from '../iceberg/partition.ts'
import type { PartitionSpec, Schema } from '../iceberg/types.ts'
import { ColumnBatch, type FlatColumn } from './parquet-flat.ts'
import { columnConverter } from './values.ts'

/** The rows of one partition tuple, filled into the columns of one file. */
export interface RowGroup {
  tuple: PartitionTuple
  batch: ColumnBatch
  /** Which input rows the batch holds, in order (row i of the file is rows[indexes[i]]). */
  indexes: number[]
}

/**
 * Rows of canonical values (runtime/codec/VALUES.md) into the flat writer's columns, one batch per
 * partition tuple. A row's values are all converted before any is appended, so a refused row
 * (TRIB_LAKE_ROW_INVALID naming the row and the field) leaves every batch as it was. Only for
 * schemas the flat writer stores (ColumnBatch.fits).
 */
export function rowsToBatches(schema: Schema, spec: PartitionSpec, rows: readonly Record<string, unknown>[], table: string): RowGroup[] {
  const fields = schema.fields
  const converters = fields.map((f) => columnConverter(f, table).internal)
  const names = fields.map((f) => f.name)
  const append = rowAppender(schema)
  const indexOf = new Map(fields.map((f, i) => [f.id, i]))
  const partitionOf = spec.fields.length === 0 ? undefined : partitioner(spec, schema)
  const groups = new Map<string, RowGroup>()
  const values: Array<InternalValue | null> = new Array(fields.length)
  const valueOf = (sourceId: number): InternalValue | null => {
    const i = indexOf.get(sourceId)
    return i === undefined ? null : values[i]!
  }
  let only: RowGroup | undefined
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    for (let c = 0; c < converters.length; c++) values[c] = converters[c]!(row[names[c]!], r)
    let group: RowGroup
    if (partitionOf) {
      const tuple = rowTuple(partitionOf, valueOf, r, table)
      const key = tupleKey(tuple)
      group = groups.get(key) ?? { tuple, batch: new ColumnBatch(schema), indexes: [] }
      if (group.indexes.length === 0) groups.set(key, group)
    } else group = only ??= { tuple: {}, batch: new ColumnBatch(schema), indexes: [] }
    append(group.batch, values)
    group.indexes.push(r)
  }
  return only ? [only] : [...groups.values()]
}

/**
 * Rows grouped by partition tuple, without converting more than the partitions' source columns
 * (the DuckDB path converts the rest itself).
 */
export function partitionRows(schema: Schema, spec: PartitionSpec, rows: readonly Record<string, unknown>[], table: string): Array<{ tuple: PartitionTuple; indexes: number[] }> {
  if (spec.fields.length === 0) return [{ tuple: {}, indexes: rows.map((_, i) => i) }]
  const sources = new Map(schema.fields.filter((f) => spec.fields.some((p) => p['source-id'] === f.id)).map((f) => [f.id, { name: f.name, internal: columnConverter(f, table).internal }]))
  const partitionOf = partitioner(spec, schema)
  const groups = new Map<string, { tuple: PartitionTuple; indexes: number[] }>()
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    const tuple = rowTuple(partitionOf, (id) => { const s = sources.get(id); return s ? s.internal(row[s.name], r) : null }, r, table)
    const key = tupleKey(tuple)
    const g = groups.get(key) ?? { tuple, indexes: [] }
    if (g.indexes.length === 0) groups.set(key, g)
    g.indexes.push(r)
  }
  return [...groups.values()]
}

/** Row `r`'s partition tuple; a value its partition cannot hold is TRIB_LAKE_ROW_INVALID naming the row and the field. */
function rowTuple(partitionOf: ReturnType<typeof partitioner>, valueOf: (sourceId: number) => PartitionValue, r: number, table: string): PartitionTuple {
  try {
    return partitionOf(valueOf)
  } catch (e) {
    if (!isTributaryError(e, 'TRIB_LAKE_ROW_INVALID') || e.details.row !== undefined) throw e
    const field = e.details.field
    throw new TributaryError('TRIB_LAKE_ROW_INVALID', `table ${table}: row ${r}, field ${e.message}`, { cause: e, details: { table, row: r, field } })
  }
}

/**
 * Appends one row of internal values (checked: the types the schema says, nulls only in optional
 * columns) to a batch of `schema`.
 */
export function rowAppender(schema: Schema): (batch: ColumnBatch, values: ReadonlyArray<InternalValue | null>) => void {
  const appenders = new ColumnBatch(schema).columns.map(appender)
  return (batch, values) => {
    const { columns } = batch
    for (let c = 0; c < columns.length; c++) {
      const v = values[c]!
      if (v === null) columns[c]!.appendNull()
      else appenders[c]!(columns[c]!, v)
    }
    batch.rows++
  }
}

type Append = (column: FlatColumn, value: InternalValue) => void

/** How a column takes a non-null internal value (days, micros, unscaled decimals, strings, Buffers). */
function appender(column: FlatColumn): Append {
  switch (column.physical) {
    case 0:
      return (c, v) => c.appendBoolean(v as boolean)
    case 1:
      return (c, v) => c.appendInt32(Number(v))
    case 2:
      return (c, v) => c.appendInt64(v as number | bigint)
    case 4:
      return (c, v) => c.appendFloat(v as number)
    case 5:
      return (c, v) => c.appendDouble(v as number)
    case 6:
      return column.type === 'string' ? (c, v) => c.appendString(v as string) : (c, v) => c.appendBytes(v as Buffer, 0, (v as Buffer).length)
    default:
      return (c, v) => c.appendFixedDecimal(v as number | bigint)
  }
}

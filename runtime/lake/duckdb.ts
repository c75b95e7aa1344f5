import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { TributaryError } from '../errors.ts'
import { parseDecimalType } from './iceberg/schema.ts'
import type { IcebergType, NestedField } from './iceberg/types.ts'

/**
 * A runtime's in-memory DuckDB, used to write Parquet files and to read them back (audits, key
 * index, rewrites), plus the mapping of Iceberg types to DuckDB types and of field ids to DuckDB's
 * FIELD_IDS option. The instance starts on the first connection; `close` ends it, after which
 * `connect` is TRIB_LAKE_CLOSED. Callers close their connections (closeSync) when done.
 */
export class LakeDuckDB {
  #instance: Promise<DuckDBInstance> | undefined
  #closed = false

  async connect(): Promise<DuckDBConnection> {
    if (this.#closed) throw new TributaryError('TRIB_LAKE_CLOSED', 'the lake\'s DuckDB instance is closed (its runtime was closed)')
    this.#instance ??= DuckDBInstance.create(':memory:')
    return (await this.#instance).connect()
  }

  async close(): Promise<void> {
    this.#closed = true
    const instance = this.#instance
    this.#instance = undefined
    if (instance) (await instance.catch(() => undefined))?.closeSync()
  }
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`
export const quoteString = (text: string): string => `'${text.replace(/'/g, "''")}'`

export function duckdbType(type: IcebergType): string {
  if (typeof type !== 'string') {
    if (type.type === 'list') return `${duckdbType(type.element)}[]`
    if (type.type === 'map') return `MAP(${duckdbType(type.key)}, ${duckdbType(type.value)})`
    return `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`
  }
  switch (type) {
    case 'boolean':
      return 'BOOLEAN'
    case 'int':
      return 'INTEGER'
    case 'long':
      return 'BIGINT'
    case 'float':
      return 'FLOAT'
    case 'double':
      return 'DOUBLE'
    case 'date':
      return 'DATE'
    case 'time':
      return 'TIME'
    case 'timestamp':
      return 'TIMESTAMP'
    case 'timestamptz':
      return 'TIMESTAMPTZ'
    case 'string':
      return 'VARCHAR'
    case 'uuid':
      return 'UUID'
    case 'binary':
      return 'BLOB'
  }
  const dec = parseDecimalType(type)
  if (dec) return `DECIMAL(${dec.precision}, ${dec.scale})`
  return 'BLOB'
}

/** The FIELD_IDS option of COPY … (FORMAT parquet) for a list of top-level fields. */
export function fieldIdsOption(fields: NestedField[]): string {
  const nested = (id: number, type: IcebergType): string => {
    if (typeof type === 'string') return String(id)
    if (type.type === 'list') return `{'__duckdb_field_id': ${id}, 'element': ${nested(type['element-id'], type.element)}}`
    if (type.type === 'map') return `{'__duckdb_field_id': ${id}, 'key': ${nested(type['key-id'], type.key)}, 'value': ${nested(type['value-id'], type.value)}}`
    return `{'__duckdb_field_id': ${id}, ${type.fields.map((f) => `${quoteString(f.name)}: ${nested(f.id, f.type)}`).join(', ')}}`
  }
  return `{${fields.map((f) => `${quoteString(f.name)}: ${nested(f.id, f.type)}`).join(', ')}}`
}

/** read_parquet's `schema` option: columns by field id, so renamed or missing ones resolve right. */
export function readSchemaOption(fields: NestedField[]): string {
  if (fields.length === 0) return 'MAP {}'
  return `MAP {${fields.map((f) => `${f.id}: {name: ${quoteString(f.name)}, type: ${quoteString(duckdbType(f.type))}, default_value: NULL}`).join(', ')}}`
}

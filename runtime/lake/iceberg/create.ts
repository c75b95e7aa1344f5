import { buildPartitionSpec, type PartitionFieldInput } from './partition.ts'
import type { TableCommit, TableUpdate } from './commit.ts'
import { avroToIcebergSchema, maxFieldId } from './schema.ts'
import type { PartitionSpec, Schema } from './types.ts'

/**
 * What a new table starts with, in Iceberg terms (the REST catalog's CreateTableRequest): a schema
 * with field ids, a partition spec over it, properties. `tableRequest` builds one from an Avro
 * schema, the way the runtime declares its tables.
 */
export interface CreateTableRequest {
  schema: Schema
  spec: PartitionSpec
  properties?: Record<string, string>
}

export interface CreateTableOptions {
  /** The row schema as an Avro record schema (JSON); ids are assigned here. */
  avroSchema: unknown
  /** e.g. ['day(created_at)', 'bucket[16](user_id)']; unpartitioned by default. */
  partitionBy?: PartitionFieldInput[]
  /** Key fields (required primitives): Iceberg identifier-field-ids. */
  identifierFields?: string[]
  properties?: Record<string, string>
}

export function tableRequest(options: CreateTableOptions): CreateTableRequest {
  const { schema } = avroToIcebergSchema(options.avroSchema, options.identifierFields ? { identifierFields: options.identifierFields } : {})
  const { spec } = buildPartitionSpec(schema, options.partitionBy ?? [], 0, 999)
  return { schema, spec, ...(options.properties ? { properties: options.properties } : {}) }
}

/** The commit that creates a table from a request at `location` (requires that none exists yet). */
export function createCommit(request: CreateTableRequest, location: string, uuid: string): TableCommit {
  const updates: TableUpdate[] = [
    { action: 'assign-uuid', uuid },
    { action: 'set-location', location },
    { action: 'add-schema', schema: request.schema, 'last-column-id': maxFieldId(request.schema) },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'add-spec', spec: request.spec },
    { action: 'set-default-spec', 'spec-id': -1 },
    { action: 'set-properties', updates: { 'write.format.default': 'parquet', ...(request.properties ?? {}) } },
  ]
  return { requirements: [{ type: 'assert-create' }], updates }
}

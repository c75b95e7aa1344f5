import { TributaryError } from '../../errors.ts'
import { transformResultType } from './partition.ts'
import { fieldsById, parseDecimalType } from './schema.ts'
import type { IcebergType, PartitionSpec, Schema } from './types.ts'

/**
 * The Avro schemas of v2 manifests and manifest lists, with every field id the spec assigns
 * (readers such as pyiceberg resolve fields by id and refuse files without them).
 */

const optional = (type: unknown): unknown[] => ['null', type]

/** Iceberg maps with non-string keys are Avro arrays of key/value records (spec appendix A). */
const intMap = (keyId: number, valueId: number, value: string): unknown => ({
  type: 'array',
  logicalType: 'map',
  items: { type: 'record', name: `k${keyId}_v${valueId}`, fields: [
    { name: 'key', type: 'int', 'field-id': keyId },
    { name: 'value', type: value, 'field-id': valueId },
  ] },
})

/** The Avro type Iceberg uses for a primitive (appendix A). */
export function avroPrimitive(type: IcebergType, where: string): unknown {
  if (typeof type !== 'string') throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `partition field ${where}: nested types cannot be partition values`, { details: { field: where } })
  switch (type) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return type
    case 'binary':
      return 'bytes'
    case 'date':
      return { type: 'int', logicalType: 'date' }
    case 'time':
      return { type: 'long', logicalType: 'time-micros' }
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false }
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }
    case 'uuid':
      return { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' }
  }
  const dec = parseDecimalType(type)
  if (dec) return { type: 'fixed', name: `decimal_${dec.precision}_${dec.scale}`, size: decimalBytes(dec.precision), logicalType: 'decimal', precision: dec.precision, scale: dec.scale }
  const fixed = /^fixed\[(\d+)\]$/.exec(type)
  if (fixed) return { type: 'fixed', name: `fixed_${fixed[1]}`, size: Number(fixed[1]) }
  throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `partition field ${where}: no Avro type for ${type}`, { details: { field: where } })
}

/** The fewest bytes a two's-complement decimal of this precision needs. */
export function decimalBytes(precision: number): number {
  let size = 1
  while (10n ** BigInt(precision) > 2n ** BigInt(8 * size - 1)) size++
  return size
}

/** The partition tuple's fields: name, result type and field id, in spec order. */
export function partitionFields(spec: PartitionSpec, schema: Schema): { name: string; id: number; type: IcebergType }[] {
  const byId = fieldsById(schema)
  return spec.fields.map((f) => {
    const source = byId.get(f['source-id'])
    // A dropped source column: void-like, readers only need the type to decode old values.
    const type = source ? transformResultType(f.transform, source.type, f.name) : 'int'
    return { name: f.name, id: f['field-id'], type }
  })
}

export function manifestEntrySchema(spec: PartitionSpec, schema: Schema): object {
  const partition = {
    type: 'record',
    name: 'r102',
    fields: partitionFields(spec, schema).map((f) => ({ name: f.name, type: optional(avroPrimitive(f.type, f.name)), default: null, 'field-id': f.id })),
  }
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: optional('long'), default: null, 'field-id': 1 },
      { name: 'sequence_number', type: optional('long'), default: null, 'field-id': 3 },
      { name: 'file_sequence_number', type: optional('long'), default: null, 'field-id': 4 },
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134, doc: 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes' },
            { name: 'file_path', type: 'string', 'field-id': 100, doc: 'Location URI with FS scheme' },
            { name: 'file_format', type: 'string', 'field-id': 101, doc: 'File format name: avro, orc, or parquet' },
            { name: 'partition', type: partition, 'field-id': 102, doc: 'Partition data tuple, schema based on the partition spec' },
            { name: 'record_count', type: 'long', 'field-id': 103, doc: 'Number of records in the file' },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104, doc: 'Total file size in bytes' },
            { name: 'column_sizes', type: optional(intMap(117, 118, 'long')), default: null, 'field-id': 108 },
            { name: 'value_counts', type: optional(intMap(119, 120, 'long')), default: null, 'field-id': 109 },
            { name: 'null_value_counts', type: optional(intMap(121, 122, 'long')), default: null, 'field-id': 110 },
            { name: 'nan_value_counts', type: optional(intMap(138, 139, 'long')), default: null, 'field-id': 137 },
            { name: 'lower_bounds', type: optional(intMap(126, 127, 'bytes')), default: null, 'field-id': 125 },
            { name: 'upper_bounds', type: optional(intMap(129, 130, 'bytes')), default: null, 'field-id': 128 },
            { name: 'key_metadata', type: optional('bytes'), default: null, 'field-id': 131 },
            { name: 'split_offsets', type: optional({ type: 'array', items: 'long', 'element-id': 133 }), default: null, 'field-id': 132 },
            { name: 'equality_ids', type: optional({ type: 'array', items: 'int', 'element-id': 136 }), default: null, 'field-id': 135 },
            { name: 'sort_order_id', type: optional('int'), default: null, 'field-id': 140 },
            { name: 'referenced_data_file', type: optional('string'), default: null, 'field-id': 143 },
          ],
        },
      },
    ],
  }
}

export const MANIFEST_LIST_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500, doc: 'Location URI with FS scheme' },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions',
      type: optional({
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: optional('boolean'), default: null, 'field-id': 518 },
            { name: 'lower_bound', type: optional('bytes'), default: null, 'field-id': 510 },
            { name: 'upper_bound', type: optional('bytes'), default: null, 'field-id': 511 },
          ],
        },
      }),
      default: null,
      'field-id': 507,
    },
    { name: 'key_metadata', type: optional('bytes'), default: null, 'field-id': 519 },
  ],
}

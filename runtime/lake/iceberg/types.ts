/**
 * Iceberg v2 table metadata as it appears in `v<N>.metadata.json` (field names are the spec's JSON
 * keys). Everything here is plain data: it is serialized as is, and commits build new values rather
 * than mutating old ones. https://iceberg.apache.org/spec/#table-metadata-fields
 */

export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'
  | `decimal(${number}, ${number})`
  | `fixed[${number}]`

export interface ListType {
  type: 'list'
  'element-id': number
  element: IcebergType
  'element-required': boolean
}

export interface MapType {
  type: 'map'
  'key-id': number
  key: IcebergType
  'value-id': number
  value: IcebergType
  'value-required': boolean
}

export interface StructType {
  type: 'struct'
  fields: NestedField[]
}

export type IcebergType = PrimitiveType | ListType | MapType | StructType

export interface NestedField {
  id: number
  name: string
  required: boolean
  type: IcebergType
  doc?: string
}

export interface Schema extends StructType {
  'schema-id': number
  'identifier-field-ids'?: number[]
}

/** identity, year, month, day, hour, bucket[N], truncate[W], void. */
export type Transform = string

export interface PartitionField {
  'source-id': number
  'field-id': number
  name: string
  transform: Transform
}

export interface PartitionSpec {
  'spec-id': number
  fields: PartitionField[]
}

export interface SortField {
  transform: Transform
  'source-id': number
  direction: 'asc' | 'desc'
  'null-order': 'nulls-first' | 'nulls-last'
}

export interface SortOrder {
  'order-id': number
  fields: SortField[]
}

/** `operation` is append | replace | overwrite | delete; every other key is free-form text. */
export type SnapshotSummary = { operation: 'append' | 'replace' | 'overwrite' | 'delete' } & Record<string, string>

export interface Snapshot {
  'snapshot-id': number
  'parent-snapshot-id'?: number
  'sequence-number': number
  'timestamp-ms': number
  'manifest-list': string
  summary: SnapshotSummary
  'schema-id'?: number
}

export interface SnapshotRef {
  'snapshot-id': number
  type: 'branch' | 'tag'
  /** Branches only: snapshots of the branch that expiry always keeps. */
  'min-snapshots-to-keep'?: number
  /** Branches only: how old a snapshot of the branch may get before expiry may remove it. */
  'max-snapshot-age-ms'?: number
  /** How long the ref itself lives (never for main). */
  'max-ref-age-ms'?: number
}

export interface SnapshotLogEntry {
  'timestamp-ms': number
  'snapshot-id': number
}

export interface MetadataLogEntry {
  'timestamp-ms': number
  'metadata-file': string
}

export interface TableMetadata {
  'format-version': 2
  'table-uuid': string
  location: string
  'last-sequence-number': number
  'last-updated-ms': number
  'last-column-id': number
  'current-schema-id': number
  schemas: Schema[]
  'default-spec-id': number
  'partition-specs': PartitionSpec[]
  'last-partition-id': number
  'default-sort-order-id': number
  'sort-orders': SortOrder[]
  properties: Record<string, string>
  'current-snapshot-id'?: number
  snapshots: Snapshot[]
  'snapshot-log': SnapshotLogEntry[]
  'metadata-log': MetadataLogEntry[]
  refs: Record<string, SnapshotRef>
}

export const MAIN_BRANCH = 'main'

/** 1 = position deletes, 2 = equality deletes (never written here). */
export type FileContent = 0 | 1 | 2

/** One data or delete file as a manifest entry describes it (field ids 100-143 of the spec). */
export interface DataFile {
  content: FileContent
  /** Absolute URI, the same string delete files use to point at it. */
  filePath: string
  fileFormat: 'PARQUET' | 'AVRO' | 'ORC'
  /** Partition values keyed by partition field name (days for day(), unscaled bigints for decimals). */
  partition: Record<string, number | bigint | string | boolean | Buffer | null>
  recordCount: number
  fileSizeInBytes: number
  valueCounts?: Map<number, number>
  nullValueCounts?: Map<number, number>
  nanValueCounts?: Map<number, number>
  /** Single-value binary serialization (spec appendix D). */
  lowerBounds?: Map<number, Buffer>
  upperBounds?: Map<number, Buffer>
  sortOrderId?: number
}

/** 0 existing, 1 added, 2 deleted. */
export type EntryStatus = 0 | 1 | 2

export interface ManifestEntry {
  status: EntryStatus
  /** null: inherited from the manifest list (only for status added). */
  snapshotId: number | null
  sequenceNumber: number | null
  fileSequenceNumber: number | null
  dataFile: DataFile
}

/** A manifest as the manifest list describes it (field ids 500-519). */
export interface ManifestFile {
  manifestPath: string
  manifestLength: number
  partitionSpecId: number
  content: 0 | 1
  sequenceNumber: number
  minSequenceNumber: number
  addedSnapshotId: number
  addedFilesCount: number
  existingFilesCount: number
  deletedFilesCount: number
  addedRowsCount: number
  existingRowsCount: number
  deletedRowsCount: number
  partitions: PartitionFieldSummary[]
}

export interface PartitionFieldSummary {
  containsNull: boolean
  containsNan?: boolean | null
  lowerBound?: Buffer | null
  upperBound?: Buffer | null
}

/** A manifest entry with its inherited values resolved: what scans and maintenance work with. */
export interface LiveFile {
  dataFile: DataFile
  specId: number
  snapshotId: number
  /** Data sequence number: when the rows were logically written. */
  sequenceNumber: number
  fileSequenceNumber: number
}

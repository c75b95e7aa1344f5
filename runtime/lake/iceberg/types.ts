import type { SnapshotId } from './ids.ts'

/**
 * Iceberg v2 table metadata as it appears in `v<N>.metadata.json` (field names are the spec's JSON
 * keys). Everything here is plain data: it is serialized as is, and commits build new values rather
 * than mutating old ones. Snapshot ids are exact int64s (ids.ts); fields this runtime does not
 * model (statistics, a foreign writer's extras) are kept as read and written back unchanged.
 * https://iceberg.apache.org/spec/#table-metadata-fields
 */
export type { SnapshotId } from './ids.ts'

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
  'snapshot-id': SnapshotId
  'parent-snapshot-id'?: SnapshotId
  'sequence-number': number
  'timestamp-ms': number
  'manifest-list': string
  summary: SnapshotSummary
  'schema-id'?: number
}

export interface SnapshotRef {
  'snapshot-id': SnapshotId
  type: 'branch' | 'tag'
  /** Branches only: snapshots of the branch that expiry always keeps. */
  'min-snapshots-to-keep'?: number
  /**
   * Branches only: how old a snapshot of the branch may get before expiry may remove it. Ages are
   * int64s kept as written (a writer may say Long.MAX_VALUE for "forever"); compared as numbers.
   */
  'max-snapshot-age-ms'?: number | bigint
  /** How long the ref itself lives (never for main). */
  'max-ref-age-ms'?: number | bigint
}

export interface SnapshotLogEntry {
  'timestamp-ms': number
  'snapshot-id': SnapshotId
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
  'current-snapshot-id'?: SnapshotId
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
  /**
   * Undefined: what Java writers write (0, unsorted, for data files; none for position deletes).
   * null: the manifest said none (a foreign file, kept so when its manifest is rewritten).
   */
  sortOrderId?: number | null
  /** Fields this runtime never writes for its own files, kept from foreign manifests when they are rewritten. */
  columnSizes?: Map<number, number>
  keyMetadata?: Buffer
  splitOffsets?: number[]
  equalityIds?: number[]
  /** A position delete file whose every row points at one data file may name it (field 143). */
  referencedDataFile?: string
}

/** 0 existing, 1 added, 2 deleted. */
export type EntryStatus = 0 | 1 | 2

export interface ManifestEntry {
  status: EntryStatus
  /** null: inherited from the manifest list (only for status added). */
  snapshotId: SnapshotId | null
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
  addedSnapshotId: SnapshotId
  addedFilesCount: number
  existingFilesCount: number
  deletedFilesCount: number
  addedRowsCount: number
  existingRowsCount: number
  deletedRowsCount: number
  partitions: PartitionFieldSummary[]
  /** Encryption key metadata of the manifest (field 519), kept as read. */
  keyMetadata?: Buffer
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
  snapshotId: SnapshotId
  /** Data sequence number: when the rows were logically written. */
  sequenceNumber: number
  fileSequenceNumber: number
}

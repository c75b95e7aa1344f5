/**
 * The lake: Apache Iceberg v2 tables found through a catalog (catalog/), written and read with a
 * runtime's lake resources (resources.ts). Start with a catalog's `loadTable` / `createTable`
 * (table.ts is what they return); the rest is for callers that need the parts (commits as data,
 * scans, SQL views).
 *
 *   iceberg/  the format: metadata, commits as data, schemas, partitions, manifests, snapshots
 *   write/    Parquet data and delete files (the DuckDB path and the columnar path)
 *   read/     scan planning, SQL views for DuckDB, the read-through cache
 *   catalog/  the Iceberg catalog seam and the file-system convention
 */
export { Table, type NewSnapshot, type CommitPreparer, type TableOptions } from './table.ts'
export type { Catalog } from './catalog/catalog.ts'
export type { TableOperations } from './catalog/operations.ts'
export { tableId, formatIdentifier, type Namespace, type TableIdentifier } from './catalog/identifier.ts'
export { openFileCatalog } from './catalog/file.ts'
export { loadLatest, readVersion, metadataPath, versionOf, VERSION_HINT } from './catalog/versions.ts'
export { lakeResources, type LakeResources } from './resources.ts'
export { joinPath, relativeTo, schemeOf, type LakeStorage, type StorageProvider } from './storage.ts'
export { tableRequest, createCommit, type CreateTableOptions, type CreateTableRequest } from './iceberg/create.ts'
export { applyCommit, checkRequirements, type TableCommit, type TableUpdate, type TableRequirement, type CommitContext } from './iceberg/commit.ts'
export { avroToIcebergSchema, fieldsById, type ConvertOptions } from './iceberg/schema.ts'
export { buildPartitionSpec, applyTransform, UNPARTITIONED, type PartitionFieldInput } from './iceberg/partition.ts'
export { parseMetadata, currentSchema, currentSnapshot, snapshotById, refSnapshot, snapshotSchema, ancestry, type LoadedMetadata } from './iceberg/metadata.ts'
export { toSnapshotId, parseSnapshotId, newSnapshotId, compareIds } from './iceberg/ids.ts'
export { lineage, type Lineage } from './iceberg/lineage.ts'
export { POSITION_DELETE_SCHEMA } from './iceberg/schema-types.ts'
export { snapshotFiles, type SnapshotFiles } from './iceberg/files.ts'
export { planScan, resolveSnapshot, matchDeletes, type ScanPlan, type ScanTask, type ScanSelector } from './read/scan.ts'
export { scanToSql, defaultPathOf, localPathOf, type ScanSqlOptions } from './read/sql.ts'
export { LakeCache, type CachedFile } from './read/cache.ts'
export { writeParquetFiles, copyToDataFile, type WriteFilesOptions } from './write/parquet.ts'
export { columnarPlan, ColumnBatch, type ColumnarPlan } from './write/avro-columns.ts'
export { writePositionDeletes, type DeletePosition } from './write/deletes.ts'
export { expireSnapshots, rewriteDataFiles, snapshotsToKeep, type ExpireOptions, type ExpireResult, type RewriteOptions, type RewriteResult } from './maintenance.ts'
export { LakeDuckDB } from './duckdb.ts'
export type * from './iceberg/types.ts'
export { MAIN_BRANCH } from './iceberg/types.ts'

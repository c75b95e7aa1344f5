/**
 * The lake: Apache Iceberg v2 tables on lake storage. Start with `createTable` / `loadTable`
 * (table.ts); the rest is for callers that need the parts (commits as data, scans, SQL views).
 */
export { createTable, loadTable, Table, type CreateTableOptions, type NewSnapshot } from './table.ts'
export { openStorage, registerStorage, joinPath, relativeTo, schemeOf, type LakeStorage, type StorageOpener } from './storage.ts'
export { applyCommit, checkRequirements, type TableCommit, type TableUpdate, type TableRequirement, type CommitContext } from './iceberg/commit.ts'
export { commitTable, loadLatest, readVersion, metadataPath, VERSION_HINT, type LoadedMetadata, type CommitPreparer, type CommitOptions } from './iceberg/versions.ts'
export { avroToIcebergSchema, fieldsById, type ConvertOptions } from './iceberg/schema.ts'
export { buildPartitionSpec, applyTransform, UNPARTITIONED, type PartitionFieldInput } from './iceberg/partition.ts'
export { parseMetadata, currentSchema, currentSnapshot, snapshotById, refSnapshot, snapshotSchema, ancestry } from './iceberg/metadata.ts'
export { planScan, resolveSnapshot, matchDeletes, type ScanPlan, type ScanTask, type ScanSelector } from './read/scan.ts'
export { scanToSql, defaultPathOf, localPathOf, type ScanSqlOptions } from './read/sql.ts'
export { configureLakeCache, lakeCacheDir, localCopies, type CachedFile } from './read/cache.ts'
export { snapshotFiles, type SnapshotFiles } from './iceberg/files.ts'
export { writeParquetFiles, copyToDataFile, type WriteFilesOptions } from './write/parquet.ts'
export { columnarPlan, ColumnBatch, type ColumnarPlan } from './write/avro-columns.ts'
export { writePositionDeletes, POSITION_DELETE_SCHEMA, type DeletePosition } from './write/deletes.ts'
export { expireSnapshots, rewriteDataFiles, snapshotsToKeep, type ExpireOptions, type ExpireResult, type RewriteOptions, type RewriteResult } from './maintenance.ts'
export { duckdb } from './duckdb.ts'
export type * from './iceberg/types.ts'
export { MAIN_BRANCH } from './iceberg/types.ts'

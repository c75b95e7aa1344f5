/**
 * The lake: Apache Iceberg v2 tables on lake storage. Start with `createTable` / `loadTable`
 * (table.ts); the rest is for callers that need the parts (commits as data, scans, SQL views).
 */
export { createTable, loadTable, Table, type CreateTableOptions, type NewSnapshot } from './table.ts'
export { openStorage, registerStorage, joinPath, relativeTo, schemeOf, type LakeStorage, type StorageOpener } from './storage.ts'
export { applyCommit, checkRequirements, type TableCommit, type TableUpdate, type TableRequirement, type CommitContext } from './commit.ts'
export { commitTable, loadLatest, readVersion, metadataPath, VERSION_HINT, type LoadedMetadata, type CommitPreparer, type CommitOptions } from './versions.ts'
export { avroToIcebergSchema, fieldsById, type ConvertOptions } from './schema.ts'
export { buildPartitionSpec, applyTransform, UNPARTITIONED, type PartitionFieldInput } from './partition.ts'
export { parseMetadata, currentSchema, currentSnapshot, snapshotById, refSnapshot, snapshotSchema, ancestry } from './metadata.ts'
export { planScan, resolveSnapshot, matchDeletes, type ScanPlan, type ScanTask, type ScanSelector } from './scan.ts'
export { scanToSql, defaultPathOf, localPathOf, type ScanSqlOptions } from './sql.ts'
export { configureLakeCache, lakeCacheDir, localCopies, type CachedFile } from './cache.ts'
export { snapshotFiles, type SnapshotFiles } from './files.ts'
export { writeParquetFiles, copyToDataFile, type WriteFilesOptions } from './parquet.ts'
export { columnarPlan, ColumnBatch, type ColumnarPlan } from './avro-columns.ts'
export { writePositionDeletes, POSITION_DELETE_SCHEMA, type DeletePosition } from './deletes.ts'
export { expireSnapshots, rewriteDataFiles, snapshotsToKeep, type ExpireOptions, type ExpireResult, type RewriteOptions, type RewriteResult } from './maintenance.ts'
export { duckdb } from './duckdb.ts'
export type * from './types.ts'
export { MAIN_BRANCH } from './types.ts'

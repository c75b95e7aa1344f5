import { TributaryError } from '../../errors.ts'
import { bigIntToBytes, bytesToBigInt } from '../../codec/values/decimal.ts'
import { decodeAvroFile, encodeAvroFile } from './avro-file.ts'
import { toBound, type InternalValue } from './bounds.ts'
import { MANIFEST_LIST_SCHEMA, decimalBytes, manifestEntrySchema, partitionFields } from './manifest-schema.ts'
import { parseDecimalType } from './schema.ts'
import { quantity, shown, toSnapshotId, type SnapshotId } from './ids.ts'
import type { LakeStorage } from '../storage.ts'
import type { DataFile, IcebergType, LiveFile, ManifestEntry, ManifestFile, PartitionFieldSummary, PartitionSpec, Schema } from './types.ts'

/**
 * Writing and reading manifests (one Avro file of data-file or delete-file entries, all of one
 * partition spec) and manifest lists (one per snapshot, listing its manifests).
 *
 * Written as Iceberg's Java writers write them, since Java readers dereference what Java always
 * writes: partition summaries carry `contains_nan` (false unless a value is NaN; Spark's
 * `all_manifests` throws on null), data files `sort_order_id` 0 (unsorted; Trino's `$entries`
 * throws on null) and position delete files none (Java refuses one). Read exactly: every int64
 * (snapshot ids beyond 2^53) as ids.ts holds it, and every field of a foreign writer's entry
 * (column sizes, split offsets, key metadata, equality ids, referenced data file) kept, so a
 * manifest this runtime rewrites loses nothing. A malformed file is TRIB_LAKE_CORRUPT naming it,
 * the entry and the field.
 */

export interface WrittenManifest {
  file: Omit<ManifestFile, 'sequenceNumber' | 'minSequenceNumber'>
  /** The lowest explicit data sequence number among live entries (added ones inherit the snapshot's). */
  minExplicitSequence: number | undefined
  hasAdded: boolean
}

export async function writeManifest(
  storage: LakeStorage,
  path: string,
  args: { schema: Schema; spec: PartitionSpec; content: 0 | 1; snapshotId: SnapshotId; entries: ManifestEntry[] },
): Promise<WrittenManifest> {
  const { schema, spec, content, entries } = args
  const fields = partitionFields(spec, schema)
  const records = entries.map((e) => ({
    status: e.status,
    snapshot_id: e.snapshotId,
    sequence_number: e.sequenceNumber,
    file_sequence_number: e.fileSequenceNumber,
    data_file: dataFileRecord(e.dataFile, fields),
  }))
  const bytes = encodeAvroFile(manifestEntrySchema(spec, schema), records, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: content === 0 ? 'data' : 'deletes',
  })
  await storage.write(path, bytes)
  const count = (status: number): number => entries.filter((e) => e.status === status).length
  const rows = (status: number): number => entries.filter((e) => e.status === status).reduce((n, e) => n + e.dataFile.recordCount, 0)
  let minExplicit: number | undefined
  for (const e of entries) if (e.status !== 2 && e.sequenceNumber !== null && (minExplicit === undefined || e.sequenceNumber < minExplicit)) minExplicit = e.sequenceNumber
  return {
    file: {
      manifestPath: storage.uri(path),
      manifestLength: bytes.length,
      partitionSpecId: spec['spec-id'],
      content,
      addedSnapshotId: args.snapshotId,
      addedFilesCount: count(1),
      existingFilesCount: count(0),
      deletedFilesCount: count(2),
      addedRowsCount: rows(1),
      existingRowsCount: rows(0),
      deletedRowsCount: rows(2),
      partitions: summarize(entries, fields),
    },
    minExplicitSequence: minExplicit,
    hasAdded: entries.some((e) => e.status === 1 && e.sequenceNumber === null),
  }
}

type PField = { name: string; id: number; type: IcebergType }

function dataFileRecord(f: DataFile, fields: PField[]): Record<string, unknown> {
  const partition: Record<string, unknown> = {}
  for (const p of fields) partition[p.name] = toAvroPartition(p.type, f.partition[p.name] ?? null)
  const map = <V>(m: Map<number, V> | undefined): { key: number; value: V }[] | null => (m ? [...m].map(([key, value]) => ({ key, value })) : null)
  return {
    content: f.content,
    file_path: f.filePath,
    file_format: f.fileFormat,
    partition,
    record_count: f.recordCount,
    file_size_in_bytes: f.fileSizeInBytes,
    column_sizes: map(f.columnSizes),
    value_counts: map(f.valueCounts),
    null_value_counts: map(f.nullValueCounts),
    nan_value_counts: map(f.nanValueCounts),
    lower_bounds: map(f.lowerBounds),
    upper_bounds: map(f.upperBounds),
    key_metadata: f.keyMetadata ?? null,
    split_offsets: f.splitOffsets ?? null,
    equality_ids: f.equalityIds ?? null,
    sort_order_id: f.sortOrderId !== undefined ? f.sortOrderId : f.content === 0 ? UNSORTED : null,
    referenced_data_file: f.referencedDataFile ?? null,
  }
}

/** Sort order 0: unsorted (spec), what Java writers give every data file that names no order. */
const UNSORTED = 0

function toAvroPartition(type: IcebergType, value: unknown): unknown {
  if (value === null || value === undefined) return null
  const dec = typeof type === 'string' ? parseDecimalType(type) : undefined
  if (dec) return bigIntToBytes(BigInt(value as bigint), decimalBytes(dec.precision))
  if (type === 'uuid') return Buffer.from(String(value).replace(/-/g, ''), 'hex')
  return value
}

function fromAvroPartition(type: IcebergType, value: unknown): DataFile['partition'][string] {
  if (value === null || value === undefined) return null
  if (typeof type === 'string' && parseDecimalType(type)) return bytesToBigInt(value as Buffer)
  return value as DataFile['partition'][string]
}

/** Per partition field: nulls, NaNs and bounds over every entry (as Java's PartitionSummary: deleted ones too). */
function summarize(entries: ManifestEntry[], fields: PField[]): PartitionFieldSummary[] {
  return fields.map((p) => {
    const summary: PartitionFieldSummary = { containsNull: false, containsNan: false, lowerBound: null, upperBound: null }
    let lower: InternalValue | undefined
    let upper: InternalValue | undefined
    for (const e of entries) {
      const v = e.dataFile.partition[p.name] ?? null
      if (v === null) summary.containsNull = true
      else if (typeof v === 'number' && Number.isNaN(v)) summary.containsNan = true
      else {
        if (lower === undefined || compareInternal(v, lower) < 0) lower = v
        if (upper === undefined || compareInternal(v, upper) > 0) upper = v
      }
    }
    if (lower !== undefined) summary.lowerBound = toBound(p.type, lower) ?? null
    if (upper !== undefined) summary.upperBound = toBound(p.type, upper) ?? null
    return summary
  })
}

function compareInternal(a: InternalValue, b: InternalValue): number {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b)
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b))
  return a < b ? -1 : a > b ? 1 : 0
}

/** Writes the manifest list of a snapshot; manifests carry their final sequence numbers. */
export async function writeManifestList(
  storage: LakeStorage,
  path: string,
  manifests: ManifestFile[],
  meta: { snapshotId: SnapshotId; parentSnapshotId: SnapshotId | undefined; sequenceNumber: number },
): Promise<string> {
  const records = manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    // A summary read from another writer's list keeps its contains_nan, null included.
    partitions: m.partitions.map((p) => ({ contains_null: p.containsNull, contains_nan: p.containsNan === undefined ? false : p.containsNan, lower_bound: p.lowerBound ?? null, upper_bound: p.upperBound ?? null })),
    key_metadata: m.keyMetadata ?? null,
  }))
  await storage.write(
    path,
    encodeAvroFile(MANIFEST_LIST_SCHEMA, records, {
      'snapshot-id': String(meta.snapshotId),
      'parent-snapshot-id': meta.parentSnapshotId === undefined ? 'null' : String(meta.parentSnapshotId),
      'sequence-number': String(meta.sequenceNumber),
      'format-version': '2',
    }),
  )
  return storage.uri(path)
}

const corrupt = (file: string, why: string, cause?: unknown): TributaryError =>
  new TributaryError('TRIB_LAKE_CORRUPT', `${file} ${why}`, { cause, details: { file } })

function decode(bytes: Buffer, file: string): Record<string, unknown>[] {
  try {
    return decodeAvroFile(bytes).records
  } catch (e) {
    throw corrupt(file, `is not a readable Avro file: ${(e as Error).message}`, e)
  }
}

/** Reads the fields of one Avro record of a manifest or list, naming file, entry and field when one is wrong. */
class Fields {
  constructor(
    private readonly file: string,
    private readonly where: string,
    private readonly r: Record<string, unknown>,
  ) {}

  fail(field: string, what: string): never {
    throw corrupt(this.file, `has ${this.where} with ${field} ${shown(this.r[field])}, not ${what}`)
  }
  has(field: string): boolean {
    return this.r[field] !== null && this.r[field] !== undefined
  }
  /** A quantity (ids.ts); `fallback` for an absent optional field. */
  count(field: string, fallback?: number): number {
    if (fallback !== undefined && !this.has(field)) return fallback
    return quantity(this.r[field]) ?? this.fail(field, 'an integer within 2^53')
  }
  id(field: string): SnapshotId {
    return toSnapshotId(this.r[field]) ?? this.fail(field, 'a 64-bit integer')
  }
}

export async function readManifestList(storage: LakeStorage, uri: string): Promise<ManifestFile[]> {
  return decode(await storage.read(uri), uri).map((r, i) => {
    const f = new Fields(uri, `manifest ${i}`, r)
    const manifestPath = typeof r.manifest_path === 'string' ? r.manifest_path : f.fail('manifest_path', 'a string')
    const parts = (r.partitions as Record<string, unknown>[] | null) ?? []
    const out: ManifestFile = {
      manifestPath,
      manifestLength: f.count('manifest_length'),
      partitionSpecId: f.count('partition_spec_id'),
      content: f.count('content', 0) as 0 | 1,
      sequenceNumber: f.count('sequence_number', 0),
      minSequenceNumber: f.count('min_sequence_number', 0),
      addedSnapshotId: f.id('added_snapshot_id'),
      addedFilesCount: f.count('added_files_count', 0),
      existingFilesCount: f.count('existing_files_count', 0),
      deletedFilesCount: f.count('deleted_files_count', 0),
      addedRowsCount: f.count('added_rows_count', 0),
      existingRowsCount: f.count('existing_rows_count', 0),
      deletedRowsCount: f.count('deleted_rows_count', 0),
      partitions: parts.map((p) => ({
        containsNull: Boolean(p.contains_null),
        containsNan: (p.contains_nan as boolean | null | undefined) ?? null,
        lowerBound: (p.lower_bound as Buffer | null) ?? null,
        upperBound: (p.upper_bound as Buffer | null) ?? null,
      })),
    }
    if (Buffer.isBuffer(r.key_metadata)) out.keyMetadata = r.key_metadata
    return out
  })
}

/**
 * All entries of a manifest with inherited values resolved (spec: "Sequence Number Inheritance"):
 * a null snapshot id comes from the manifest, a null sequence number from the manifest too when
 * the entry was added. `spec`/`schema` decode partition values (decimals to bigints).
 */
export async function readManifest(storage: LakeStorage, manifest: ManifestFile, spec: PartitionSpec, schema: Schema): Promise<(ManifestEntry & LiveFile)[]> {
  const file = manifest.manifestPath
  const fields = partitionFields(spec, schema)
  return decode(await storage.read(file), file).map((r, i) => {
    const df = r.data_file as Record<string, unknown> | undefined
    if (!df || typeof df.file_path !== 'string') throw corrupt(file, `has entry ${i} without data_file.file_path`)
    const entry = new Fields(file, `entry ${i} (${df.file_path})`, r)
    const f = new Fields(file, `entry ${i} (${df.file_path})`, df)
    const status = entry.count('status') as 0 | 1 | 2
    const inherit = (field: string): number | null => (entry.has(field) ? entry.count(field) : status === 1 || manifest.sequenceNumber === 0 ? manifest.sequenceNumber : null)
    const snapshotId = entry.has('snapshot_id') ? entry.id('snapshot_id') : manifest.addedSnapshotId
    const sequenceNumber = inherit('sequence_number')
    const fileSequenceNumber = inherit('file_sequence_number')
    if (sequenceNumber === null || fileSequenceNumber === null) throw corrupt(file, `entry ${i} (${df.file_path}, status ${status}) has no sequence number and cannot inherit one`)
    const rawPartition = (df.partition as Record<string, unknown> | null) ?? {}
    const partition: DataFile['partition'] = {}
    for (const p of fields) partition[p.name] = fromAvroPartition(p.type, rawPartition[p.name])
    const dataFile: DataFile = {
      content: f.count('content', 0) as 0 | 1 | 2,
      filePath: df.file_path,
      fileFormat: String(df.file_format).toUpperCase() as DataFile['fileFormat'],
      partition,
      recordCount: f.count('record_count'),
      fileSizeInBytes: f.count('file_size_in_bytes'),
    }
    const counts = (name: string): Map<number, number> | undefined => {
      if (!Array.isArray(df[name])) return undefined
      return new Map((df[name] as { key: number; value: unknown }[]).map((kv) => [kv.key, quantity(kv.value) ?? f.fail(name, 'a map of integers within 2^53')]))
    }
    const bounds = (name: string): Map<number, Buffer> | undefined => (Array.isArray(df[name]) ? new Map((df[name] as { key: number; value: Buffer }[]).map((kv) => [kv.key, kv.value])) : undefined)
    const set = <K extends keyof DataFile>(key: K, value: DataFile[K] | undefined): void => {
      if (value !== undefined) dataFile[key] = value
    }
    set('columnSizes', counts('column_sizes'))
    set('valueCounts', counts('value_counts'))
    set('nullValueCounts', counts('null_value_counts'))
    set('nanValueCounts', counts('nan_value_counts'))
    set('lowerBounds', bounds('lower_bounds'))
    set('upperBounds', bounds('upper_bounds'))
    if (Buffer.isBuffer(df.key_metadata)) dataFile.keyMetadata = df.key_metadata
    if (Array.isArray(df.split_offsets)) dataFile.splitOffsets = df.split_offsets.map((o) => quantity(o) ?? f.fail('split_offsets', 'a list of integers within 2^53'))
    if (Array.isArray(df.equality_ids)) dataFile.equalityIds = df.equality_ids.map(Number)
    // Kept as read, null included, so a rewritten manifest says what the original said.
    if ('sort_order_id' in df) dataFile.sortOrderId = f.has('sort_order_id') ? f.count('sort_order_id') : null
    if (typeof df.referenced_data_file === 'string') dataFile.referencedDataFile = df.referenced_data_file
    return { status, snapshotId, sequenceNumber, fileSequenceNumber, dataFile, specId: manifest.partitionSpecId }
  })
}

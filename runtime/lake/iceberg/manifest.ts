import { TributaryError } from '../../errors.ts'
import { bigIntToBytes, bytesToBigInt } from '../../codec/values/decimal.ts'
import { decodeAvroFile, encodeAvroFile } from './avro-file.ts'
import { toBound, type InternalValue } from './bounds.ts'
import { MANIFEST_LIST_SCHEMA, decimalBytes, manifestEntrySchema, partitionFields } from './manifest-schema.ts'
import { parseDecimalType } from './schema.ts'
import type { LakeStorage } from '../storage.ts'
import type { DataFile, IcebergType, LiveFile, ManifestEntry, ManifestFile, PartitionFieldSummary, PartitionSpec, Schema } from './types.ts'
import { minOf } from '../../util/arrays.ts'

/**
 * Writing and reading manifests (one Avro file of data-file or delete-file entries, all of one
 * partition spec) and manifest lists (one per snapshot, listing its manifests).
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
  args: { schema: Schema; spec: PartitionSpec; content: 0 | 1; snapshotId: number; entries: ManifestEntry[] },
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
  const explicit = entries.filter((e) => e.status !== 2 && e.sequenceNumber !== null).map((e) => e.sequenceNumber as number)
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
    minExplicitSequence: explicit.length ? minOf(explicit) : undefined,
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
    column_sizes: null,
    value_counts: map(f.valueCounts),
    null_value_counts: map(f.nullValueCounts),
    nan_value_counts: map(f.nanValueCounts),
    lower_bounds: map(f.lowerBounds),
    upper_bounds: map(f.upperBounds),
    key_metadata: null,
    split_offsets: null,
    equality_ids: null,
    sort_order_id: f.sortOrderId ?? null,
  }
}

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

function summarize(entries: ManifestEntry[], fields: PField[]): PartitionFieldSummary[] {
  return fields.map((p) => {
    const values = entries.filter((e) => e.status !== 2).map((e) => e.dataFile.partition[p.name] ?? null)
    const present = values.filter((v) => v !== null) as InternalValue[]
    const summary: PartitionFieldSummary = { containsNull: present.length < values.length, containsNan: null, lowerBound: null, upperBound: null }
    if (present.length > 0) {
      const sorted = [...present].sort(compareInternal)
      summary.lowerBound = toBound(p.type, sorted[0] as InternalValue) ?? null
      summary.upperBound = toBound(p.type, sorted[sorted.length - 1] as InternalValue) ?? null
    }
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
  meta: { snapshotId: number; parentSnapshotId: number | undefined; sequenceNumber: number },
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
    partitions: m.partitions.map((p) => ({ contains_null: p.containsNull, contains_nan: p.containsNan ?? null, lower_bound: p.lowerBound ?? null, upper_bound: p.upperBound ?? null })),
    key_metadata: null,
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

export async function readManifestList(storage: LakeStorage, uri: string): Promise<ManifestFile[]> {
  return decode(await storage.read(uri), uri).map((r) => {
    if (typeof r.manifest_path !== 'string') throw corrupt(uri, 'has an entry without manifest_path')
    const parts = (r.partitions as Record<string, unknown>[] | null) ?? []
    return {
      manifestPath: r.manifest_path,
      manifestLength: Number(r.manifest_length),
      partitionSpecId: Number(r.partition_spec_id),
      content: (Number(r.content ?? 0) as 0 | 1),
      sequenceNumber: Number(r.sequence_number ?? 0),
      minSequenceNumber: Number(r.min_sequence_number ?? 0),
      addedSnapshotId: Number(r.added_snapshot_id),
      addedFilesCount: Number(r.added_files_count ?? 0),
      existingFilesCount: Number(r.existing_files_count ?? 0),
      deletedFilesCount: Number(r.deleted_files_count ?? 0),
      addedRowsCount: Number(r.added_rows_count ?? 0),
      existingRowsCount: Number(r.existing_rows_count ?? 0),
      deletedRowsCount: Number(r.deleted_rows_count ?? 0),
      partitions: parts.map((p) => ({
        containsNull: Boolean(p.contains_null),
        containsNan: (p.contains_nan as boolean | null) ?? null,
        lowerBound: (p.lower_bound as Buffer | null) ?? null,
        upperBound: (p.upper_bound as Buffer | null) ?? null,
      })),
    }
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
  return decode(await storage.read(file), file).map((r) => {
    const df = r.data_file as Record<string, unknown> | undefined
    if (!df || typeof df.file_path !== 'string') throw corrupt(file, 'has an entry without data_file.file_path')
    const status = Number(r.status) as 0 | 1 | 2
    const inherit = (v: unknown): number | null => (v === null || v === undefined ? (status === 1 || manifest.sequenceNumber === 0 ? manifest.sequenceNumber : null) : Number(v))
    const snapshotId = r.snapshot_id === null || r.snapshot_id === undefined ? manifest.addedSnapshotId : Number(r.snapshot_id)
    const sequenceNumber = inherit(r.sequence_number)
    const fileSequenceNumber = inherit(r.file_sequence_number)
    if (sequenceNumber === null || fileSequenceNumber === null) throw corrupt(file, `entry ${df.file_path} (status ${status}) has no sequence number and cannot inherit one`)
    const rawPartition = (df.partition as Record<string, unknown> | null) ?? {}
    const partition: DataFile['partition'] = {}
    for (const p of fields) partition[p.name] = fromAvroPartition(p.type, rawPartition[p.name])
    const toMap = <V>(v: unknown): Map<number, V> | undefined => (Array.isArray(v) ? new Map(v.map((kv: { key: number; value: V }) => [kv.key, kv.value])) : undefined)
    const dataFile: DataFile = {
      content: Number(df.content ?? 0) as 0 | 1 | 2,
      filePath: df.file_path,
      fileFormat: String(df.file_format).toUpperCase() as DataFile['fileFormat'],
      partition,
      recordCount: Number(df.record_count),
      fileSizeInBytes: Number(df.file_size_in_bytes),
    }
    const optionalMaps: [keyof DataFile, string][] = [
      ['valueCounts', 'value_counts'],
      ['nullValueCounts', 'null_value_counts'],
      ['nanValueCounts', 'nan_value_counts'],
      ['lowerBounds', 'lower_bounds'],
      ['upperBounds', 'upper_bounds'],
    ]
    for (const [key, name] of optionalMaps) {
      const m = toMap(df[name])
      if (m) (dataFile as unknown as Record<string, unknown>)[key] = key.endsWith('Counts') ? new Map([...m].map(([k, v]) => [k, Number(v)])) : m
    }
    if (df.sort_order_id !== null && df.sort_order_id !== undefined) dataFile.sortOrderId = Number(df.sort_order_id)
    return { status, snapshotId, sequenceNumber, fileSequenceNumber, dataFile, specId: manifest.partitionSpecId }
  })
}

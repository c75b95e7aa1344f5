import { TributaryError } from '../../errors.ts'
import { FILE_PATH_ID } from '../iceberg/schema-types.ts'
import { snapshotFiles } from '../iceberg/files.ts'
import { currentSnapshot, snapshotById, snapshotSchema } from '../iceberg/metadata.ts'
import { tupleKey } from '../iceberg/partition.ts'
import type { LakeStorage } from '../storage.ts'
import type { DataFile, LiveFile, Schema, Snapshot, SnapshotId, TableMetadata } from '../iceberg/types.ts'

/**
 * Scan planning: which data files a snapshot holds and which delete files apply to each. A
 * position delete file applies to a data file when it is in the same partition of the same spec
 * (or the table is unpartitioned), its data sequence number is at least the data file's (spec:
 * "Scan Planning"), and its file_path bounds, when present, include the data file's path.
 */
export type ScanSelector = { snapshotId: SnapshotId } | { ref: string } | { asOfTimestampMs: number } | Record<string, never>

export interface ScanTask {
  dataFile: DataFile
  sequenceNumber: number
  deletes: DataFile[]
}

export interface ScanPlan {
  /** Undefined for a table without snapshots (then there is nothing to read). */
  snapshot: Snapshot | undefined
  /** The schema the snapshot was written with: what a reader projects. */
  schema: Schema
  tasks: ScanTask[]
  /** Delete files that apply to at least one task. */
  deleteFiles: DataFile[]
}

/** The snapshot a selector names; the current snapshot for an empty selector. */
export function resolveSnapshot(md: TableMetadata, selector: ScanSelector = {}): Snapshot | undefined {
  const notFound = (what: string): never => {
    throw new TributaryError('TRIB_LAKE_SNAPSHOT_NOT_FOUND', `table ${md.location} has no ${what}`, { details: { location: md.location, selector } })
  }
  if ('snapshotId' in selector) return snapshotById(md, selector.snapshotId) ?? notFound(`snapshot ${selector.snapshotId}`)
  if ('ref' in selector) {
    const ref = md.refs[selector.ref] ?? notFound(`branch or tag ${selector.ref}`)
    return snapshotById(md, ref['snapshot-id']) ?? notFound(`snapshot ${ref['snapshot-id']} (ref ${selector.ref})`)
  }
  if ('asOfTimestampMs' in selector) {
    // The main branch's history: the last snapshot that was current at that time.
    const entry = md['snapshot-log'].filter((e) => e['timestamp-ms'] <= selector.asOfTimestampMs).at(-1)
    if (!entry) return notFound(`snapshot current at ${new Date(selector.asOfTimestampMs).toISOString()}`)
    return snapshotById(md, entry['snapshot-id']) ?? notFound(`snapshot ${entry['snapshot-id']} (expired) current at ${new Date(selector.asOfTimestampMs).toISOString()}`)
  }
  return currentSnapshot(md)
}

export async function planScan(storage: LakeStorage, md: TableMetadata, selector: ScanSelector = {}): Promise<ScanPlan> {
  const snapshot = resolveSnapshot(md, selector)
  const schema = snapshotSchema(md, snapshot)
  if (!snapshot) return { snapshot, schema, tasks: [], deleteFiles: [] }
  const files = await snapshotFiles(storage, md, snapshot)
  return { snapshot, schema, ...matchDeletes(files.data, files.deletes) }
}

/** Pairs data files with the delete files that apply to them. */
export function matchDeletes(data: LiveFile[], deletes: LiveFile[]): { tasks: ScanTask[]; deleteFiles: DataFile[] } {
  const byPartition = new Map<string, LiveFile[]>()
  for (const d of deletes) {
    if (d.dataFile.content !== 1) {
      throw new TributaryError('TRIB_LAKE_CORRUPT', `${d.dataFile.filePath}: equality delete files are not supported`, { details: { file: d.dataFile.filePath } })
    }
    const key = `${d.specId}|${tupleKey(d.dataFile.partition)}`
    const group = byPartition.get(key)
    if (group) group.push(d)
    else byPartition.set(key, [d])
  }
  const used = new Set<DataFile>()
  const tasks = data.map((f) => {
    const candidates = byPartition.get(`${f.specId}|${tupleKey(f.dataFile.partition)}`) ?? []
    const applying = candidates.filter((d) => d.sequenceNumber >= f.sequenceNumber && pathInBounds(d.dataFile, f.dataFile.filePath)).map((d) => d.dataFile)
    for (const d of applying) used.add(d)
    return { dataFile: f.dataFile, sequenceNumber: f.sequenceNumber, deletes: applying }
  })
  return { tasks, deleteFiles: [...used] }
}

function pathInBounds(deleteFile: DataFile, path: string): boolean {
  const lo = deleteFile.lowerBounds?.get(FILE_PATH_ID)
  const hi = deleteFile.upperBounds?.get(FILE_PATH_ID)
  const p = Buffer.from(path)
  return (!lo || Buffer.compare(lo, p) <= 0) && (!hi || Buffer.compare(p, hi) <= 0)
}

import { randomUUID } from 'node:crypto'
import { isTributaryError } from '../errors.ts'
import { moduleLogger } from '../logger.ts'
import { decodeAvroFile } from './iceberg/avro-file.ts'
import { readManifestList } from './iceberg/manifest.ts'
import type { TableCommit } from './iceberg/commit.ts'
import { ancestry, refSnapshot, type LoadedMetadata } from './iceberg/metadata.ts'
import { partitionPath, specById, tupleKey } from './iceberg/partition.ts'
import { queryToDataFile } from './write/parquet.ts'
import { matchDeletes, type ScanPlan } from './read/scan.ts'
import { snapshotFiles } from './iceberg/files.ts'
import { localPathOf, scanToSql } from './read/sql.ts'
import type { SnapshotChanges } from './iceberg/snapshot.ts'
import type { LakeResources } from './resources.ts'
import type { LakeStorage } from './storage.ts'
import type { DataFile, Schema, Snapshot, SnapshotId, TableMetadata } from './iceberg/types.ts'
import { MAIN_BRANCH } from './iceberg/types.ts'

/**
 * Table maintenance, through the same commit path as writes: snapshot expiry (and deletion of the
 * files only expired snapshots reached) and compaction of small files into larger ones.
 */
const log = moduleLogger('lake')

/** What maintenance needs of a table (the Table of table.ts passes itself). */
export interface MaintainedTable {
  readonly storage: LakeStorage
  readonly lake: LakeResources
  readonly location: string
  readonly metadata: TableMetadata
  refresh(): Promise<TableMetadata>
  schema(): Schema
  commit(prepare: (base: LoadedMetadata) => TableCommit): Promise<TableMetadata>
  commitSnapshot(changes: SnapshotChanges): Promise<Snapshot>
}

export interface ExpireOptions {
  /** Snapshots at or after this time are kept (default: now - 5 days, Iceberg's default age). */
  olderThanMs?: number
  /** Ancestors kept per branch, head included (default 1; a branch's min-snapshots-to-keep wins). */
  retainLast?: number
  now?: number
}

export interface ExpireResult {
  expiredSnapshotIds: SnapshotId[]
  deletedFiles: string[]
}

/** The snapshots expiry keeps: ref targets, recent branch ancestors, and anything newer than the cutoff. */
export function snapshotsToKeep(md: TableMetadata, options: ExpireOptions = {}): Set<SnapshotId> {
  const now = options.now ?? Date.now()
  const olderThan = options.olderThanMs ?? now - 5 * 24 * 3600 * 1000
  const keep = new Set<SnapshotId>()
  for (const ref of Object.values(md.refs)) {
    keep.add(ref['snapshot-id'])
    if (ref.type !== 'branch') continue
    const minKeep = ref['min-snapshots-to-keep'] ?? options.retainLast ?? 1
    const maxAge = ref['max-snapshot-age-ms']
    ancestry(md, ref['snapshot-id']).forEach((s, i) => {
      // An age beyond 2^53 ms (a writer's Long.MAX_VALUE: forever) compares right as a number.
      if (i < minKeep || (maxAge !== undefined && s['timestamp-ms'] >= now - Number(maxAge))) keep.add(s['snapshot-id'])
    })
  }
  for (const s of md.snapshots) if (s['timestamp-ms'] >= olderThan) keep.add(s['snapshot-id'])
  return keep
}

export async function expireSnapshots(table: MaintainedTable, options: ExpireOptions = {}): Promise<ExpireResult> {
  let expired: Snapshot[] = []
  let before: TableMetadata | undefined
  const after = await table.commit((base) => {
    const md = base.metadata
    before = md
    const keep = snapshotsToKeep(md, options)
    expired = md.snapshots.filter((s) => !keep.has(s['snapshot-id']))
    // Every ref must still point where it did when the set was computed.
    return {
      requirements: Object.entries(md.refs).map(([ref, r]) => ({ type: 'assert-ref-snapshot-id' as const, ref, 'snapshot-id': r['snapshot-id'] })),
      updates: expired.length ? [{ action: 'remove-snapshots' as const, 'snapshot-ids': expired.map((s) => s['snapshot-id']) }] : [],
    }
  })
  if (expired.length === 0 || !before) return { expiredSnapshotIds: [], deletedFiles: [] }
  // Files reachable from the remaining snapshots stay; of the rest, only what expired ones reached goes.
  // A file an earlier, interrupted expiry already deleted is simply gone: skip it.
  const tolerant = <T>(p: Promise<T>, fallback: T): Promise<T> => p.catch((e: unknown) => (isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND') ? fallback : Promise.reject(e)))
  const reachable = async (md: TableMetadata, snapshots: Snapshot[], allEntries: boolean): Promise<Set<string>> => {
    const out = new Set<string>()
    for (const s of snapshots) {
      out.add(s['manifest-list'])
      if (!allEntries) {
        const files = await snapshotFiles(table.storage, md, s)
        for (const m of files.manifests) out.add(m.manifestPath)
        for (const f of [...files.data, ...files.deletes]) out.add(f.dataFile.filePath)
        continue
      }
      for (const m of await tolerant(readManifestList(table.storage, s['manifest-list']), [])) {
        out.add(m.manifestPath)
        const bytes = await tolerant(table.storage.read(m.manifestPath), undefined)
        if (bytes) for (const r of decodeAvroFile(bytes).records) out.add((r.data_file as { file_path: string }).file_path)
      }
    }
    return out
  }
  const live = await reachable(after, after.snapshots, false)
  const candidates = await reachable(before, expired, true)
  const deletedFiles = [...candidates].filter((f) => !live.has(f))
  await Promise.all(deletedFiles.map((f) => table.storage.delete(f)))
  log.info({ table: table.location, expired: expired.length, deletedFiles: deletedFiles.length }, 'expired snapshots')
  return { expiredSnapshotIds: expired.map((s) => s['snapshot-id']), deletedFiles }
}

export interface RewriteOptions {
  branch?: string
  /** Partitions with at least this many data files are compacted (default 2); any with deletes are. */
  minInputFiles?: number
  /** Extra summary properties for the replace snapshot (e.g. the offsets the data covers). */
  summary?: Record<string, string>
  /** Told after each partition: data files handled so far, of all the snapshot's data files. */
  onProgress?: (files: number, total: number) => void
}

export interface RewriteResult {
  snapshot: Snapshot | undefined
  rewrittenDataFiles: number
  removedDeleteFiles: number
  addedDataFiles: number
}

/**
 * Compacts each partition's data files (with their position deletes applied) into one file, in a
 * `replace` snapshot. Delete files whose every target was rewritten are dropped. The branch head is
 * pinned: a concurrent write to the branch makes this a TRIB_LAKE_COMMIT_CONFLICT (run it again).
 */
export async function rewriteDataFiles(table: MaintainedTable, options: RewriteOptions = {}): Promise<RewriteResult> {
  await table.refresh()
  const md = table.metadata
  const branch = options.branch ?? MAIN_BRANCH
  const head = refSnapshot(md, branch)
  const none: RewriteResult = { snapshot: undefined, rewrittenDataFiles: 0, removedDeleteFiles: 0, addedDataFiles: 0 }
  if (!head) return none
  const files = await snapshotFiles(table.storage, md, head)
  const { tasks } = matchDeletes(files.data, files.deletes)
  const specOf = new Map(files.data.map((f) => [f.dataFile.filePath, f.specId]))
  const groups = new Map<string, typeof tasks>()
  for (const t of tasks) {
    const key = `${specOf.get(t.dataFile.filePath)}|${tupleKey(t.dataFile.partition)}`
    const group = groups.get(key)
    if (group) group.push(t)
    else groups.set(key, [t])
  }
  const schema = table.schema()
  const conn = await table.lake.duckdb.connect()
  const added: { file: DataFile; specId: number }[] = []
  const rewritten = new Set<string>()
  let handled = 0
  try {
    for (const group of groups.values()) {
      const first = group[0] as (typeof group)[number]
      handled += group.length
      options.onProgress?.(handled, tasks.length)
      if (group.length < (options.minInputFiles ?? 2) && group.every((t) => t.deletes.length === 0)) continue
      const specId = specOf.get(first.dataFile.filePath) as number
      const plan: ScanPlan = { snapshot: head, schema, tasks: group, deleteFiles: [...new Set(group.flatMap((t) => t.deletes))] }
      const dir = ['data', partitionPath(specById(md['partition-specs'], specId), schema, first.dataFile.partition)].filter(Boolean).join('/')
      const target = `${dir}/${randomUUID()}.parquet`
      // DuckDB reads local files: on object storage, the read-through cache provides them.
      const pathOf = await localPathOf(table.lake, table.storage, plan)
      const file = await queryToDataFile(table.lake, table.storage, conn, scanToSql(plan, pathOf ? { pathOf } : {}), schema, target)
      if (file.recordCount > 0) added.push({ file: { ...file, partition: first.dataFile.partition }, specId })
      else await table.storage.delete(target)
      for (const t of group) rewritten.add(t.dataFile.filePath)
    }
  } finally {
    conn.closeSync()
  }
  if (rewritten.size === 0) return none
  // A delete file goes when nothing it applies to survives the rewrite.
  const obsoleteDeletes = files.deletes
    .map((d) => d.dataFile.filePath)
    .filter((p) => tasks.every((t) => !t.deletes.some((d) => d.filePath === p) || rewritten.has(t.dataFile.filePath)))
  const snapshot = await table.commitSnapshot({
    branch,
    operation: 'replace',
    ...(options.summary ? { summary: options.summary } : {}),
    addDataFiles: added,
    removeFiles: [...rewritten, ...obsoleteDeletes],
    expectedParent: md.refs[branch]?.['snapshot-id'] ?? null,
  }).catch(async (e: unknown) => {
    if (!isTributaryError(e, 'TRIB_LAKE_COMMIT_STATE_UNKNOWN')) await Promise.all(added.map((a) => table.storage.delete(a.file.filePath).catch(() => undefined)))
    throw e
  })
  return { snapshot, rewrittenDataFiles: rewritten.size, removedDeleteFiles: obsoleteDeletes.length, addedDataFiles: added.length }
}

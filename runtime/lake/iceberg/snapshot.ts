import { randomUUID } from 'node:crypto'
import { TributaryError } from '../../errors.ts'
import type { TableCommit, TableRequirement } from './commit.ts'
import { readManifest, readManifestList, writeManifest, writeManifestList, type WrittenManifest } from './manifest.ts'
import { currentSchema, currentSnapshot, schemaById, snapshotById, type LoadedMetadata } from './metadata.ts'
import { specById } from './partition.ts'
import type { LakeStorage } from '../storage.ts'
import { newSnapshotId } from './ids.ts'
import type { DataFile, ManifestEntry, ManifestFile, Snapshot, SnapshotId, SnapshotSummary } from './types.ts'
import { pushAll } from '../../util/arrays.ts'

/**
 * Turns file-level changes into a snapshot commit: new manifests for added files (written once),
 * the parent's manifests carried over (rewritten only where files are removed), a manifest list
 * and the add-snapshot / set-snapshot-ref updates. `prepare` is re-run on every commit attempt
 * against the latest metadata, so sequence numbers and the manifest list always match the base.
 */
export interface SnapshotChanges {
  branch: string
  operation: SnapshotSummary['operation']
  addDataFiles?: { file: DataFile; specId: number }[]
  addDeleteFiles?: { file: DataFile; specId: number }[]
  /** Paths (URIs) of live data or delete files this snapshot removes. */
  removeFiles?: string[]
  /** Caller properties for the summary (e.g. consumed offsets); they cannot override `operation`. */
  summary?: Record<string, string>
  /**
   * The snapshot the branch must be at (null: the branch must not exist yet). Undefined: a pure
   * append rebases onto whatever the branch head is; anything else pins the head seen first.
   */
  expectedParent?: SnapshotId | null
}

export interface SnapshotProducer {
  /** 0 until the first `prepare`. */
  readonly snapshotId: SnapshotId
  prepare(base: LoadedMetadata | undefined): Promise<TableCommit>
  /** Removes the manifests and manifest lists of attempts that did not commit. */
  cleanup(committed: boolean): Promise<void>
}

export function snapshotProducer(storage: LakeStorage, changes: SnapshotChanges, now: () => number = Date.now): SnapshotProducer {
  const written: string[] = []
  const lists: string[] = []
  let newManifests: WrittenManifest[] | undefined
  let snapshotId: SnapshotId = 0
  let pinned: SnapshotId | null | undefined = changes.expectedParent
  const removing = new Set(changes.removeFiles ?? [])
  const pureAppend = removing.size === 0 && (changes.addDeleteFiles?.length ?? 0) === 0

  async function writeNew(md: LoadedMetadata['metadata']): Promise<WrittenManifest[]> {
    const schema = currentSchema(md)
    const out: WrittenManifest[] = []
    for (const [content, files] of [[0, changes.addDataFiles ?? []], [1, changes.addDeleteFiles ?? []]] as const) {
      const bySpec = new Map<number, DataFile[]>()
      for (const f of files) {
        const group = bySpec.get(f.specId)
        if (group) group.push(f.file)
        else bySpec.set(f.specId, [f.file])
      }
      for (const [specId, group] of bySpec) {
        const path = `metadata/${randomUUID()}-m${out.length}.avro`
        written.push(path)
        const entries: ManifestEntry[] = group.map((f) => ({ status: 1, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile: f }))
        out.push(await writeManifest(storage, path, { schema, spec: specById(md['partition-specs'], specId), content, snapshotId, entries }))
      }
    }
    return out
  }

  return {
    get snapshotId() {
      return snapshotId
    },
    async prepare(loaded) {
      if (!loaded) throw new TributaryError('TRIB_LAKE_NOT_FOUND', `no table at ${storage.root} to add a snapshot to`, { details: { location: storage.root } })
      const md = loaded.metadata
      if (snapshotId === 0 || md.snapshots.some((s) => s['snapshot-id'] === snapshotId)) {
        snapshotId = newSnapshotId((id) => md.snapshots.some((s) => s['snapshot-id'] === id))
        newManifests = undefined
      }
      // A new branch starts from main's current snapshot (as Iceberg's Java writers do).
      const branchRef = md.refs[changes.branch]
      const head = branchRef ? snapshotById(md, branchRef['snapshot-id']) : currentSnapshot(md)
      const headId = branchRef ? branchRef['snapshot-id'] : null
      if (pinned === undefined && !pureAppend) pinned = headId
      if (pinned !== undefined && pinned !== headId) {
        throw new TributaryError('TRIB_LAKE_COMMIT_CONFLICT', `commit to ${md.location}: branch ${changes.branch} moved to snapshot ${String(headId)}, expected ${String(pinned)}`, {
          details: { location: md.location, branch: changes.branch, expected: pinned, actual: headId },
        })
      }
      if (md.refs[changes.branch]?.type === 'tag') {
        throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `commit to ${md.location}: ${changes.branch} is a tag; snapshots are committed to branches`, { details: { ref: changes.branch } })
      }
      newManifests ??= await writeNew(md)
      const sequenceNumber = md['last-sequence-number'] + 1
      const { manifests: carried, removed } = await carryOver(md, head, sequenceNumber)
      const missing = [...removing].filter((p) => !removed.some((r) => r.filePath === p))
      if (missing.length > 0) {
        throw new TributaryError('TRIB_LAKE_COMMIT_CONFLICT', `commit to ${md.location}: files to remove are not live on ${changes.branch}: ${missing.slice(0, 3).join(', ')}`, {
          details: { location: md.location, missing },
        })
      }
      const fresh: ManifestFile[] = newManifests.map((m) => ({
        ...m.file,
        sequenceNumber,
        minSequenceNumber: Math.min(m.hasAdded ? sequenceNumber : Infinity, m.minExplicitSequence ?? Infinity),
      }))
      const listPath = `metadata/snap-${snapshotId}-${lists.length + 1}-${randomUUID()}.avro`
      lists.push(listPath)
      const manifestList = await writeManifestList(storage, listPath, [...fresh, ...carried], { snapshotId, parentSnapshotId: head?.['snapshot-id'], sequenceNumber })
      const snapshot: Snapshot = {
        'snapshot-id': snapshotId,
        'sequence-number': sequenceNumber,
        'timestamp-ms': Math.max(now(), md['last-updated-ms']),
        'manifest-list': manifestList,
        summary: summarize(changes, head, removed),
        'schema-id': md['current-schema-id'],
      }
      if (head) snapshot['parent-snapshot-id'] = head['snapshot-id']
      const requirements: TableRequirement[] = [{ type: 'assert-ref-snapshot-id', ref: changes.branch, 'snapshot-id': headId }]
      const { 'snapshot-id': _old, ...retention } = md.refs[changes.branch] ?? { 'snapshot-id': 0, type: 'branch' as const }
      return {
        requirements,
        updates: [
          { action: 'add-snapshot', snapshot },
          { action: 'set-snapshot-ref', 'ref-name': changes.branch, ...retention, type: 'branch', 'snapshot-id': snapshotId },
        ],
      }
    },
    async cleanup(committed) {
      const garbage = committed ? lists.slice(0, -1) : [...lists, ...written]
      await Promise.all(garbage.map((p) => storage.delete(p).catch(() => undefined)))
    },
  }

  /** The parent's manifests: unchanged ones as they are, those holding removed files rewritten. */
  async function carryOver(md: LoadedMetadata['metadata'], head: Snapshot | undefined, sequenceNumber: number): Promise<{ manifests: ManifestFile[]; removed: DataFile[] }> {
    if (!head) return { manifests: [], removed: [] }
    const manifests = await readManifestList(storage, head['manifest-list'])
    const out: ManifestFile[] = []
    const removed: DataFile[] = []
    const schema = currentSchema(md)
    for (const m of manifests) {
      if (removing.size === 0) {
        // Manifests whose every entry was deleted by an earlier snapshot carry nothing live.
        if (m.addedFilesCount + m.existingFilesCount > 0) out.push(m)
        continue
      }
      const spec = specById(md['partition-specs'], m.partitionSpecId)
      const entries = await readManifest(storage, m, spec, schemaById(md, md['current-schema-id']))
      const live = entries.filter((e) => e.status !== 2)
      const hits = live.filter((e) => removing.has(e.dataFile.filePath))
      if (hits.length === 0) {
        if (live.length > 0) out.push(m)
        continue
      }
      pushAll(removed, hits.map((e) => e.dataFile))
      const rewritten: ManifestEntry[] = live.map((e) => ({
        status: removing.has(e.dataFile.filePath) ? 2 : 0,
        snapshotId: removing.has(e.dataFile.filePath) ? snapshotId : e.snapshotId,
        sequenceNumber: e.sequenceNumber,
        fileSequenceNumber: e.fileSequenceNumber,
        dataFile: e.dataFile,
      }))
      const path = `metadata/${randomUUID()}-r.avro`
      written.push(path)
      const w = await writeManifest(storage, path, { schema, spec, content: m.content, snapshotId, entries: rewritten })
      out.push({ ...w.file, sequenceNumber, minSequenceNumber: w.minExplicitSequence ?? sequenceNumber })
    }
    return { manifests: out, removed }
  }
}

/**
 * The snapshot summary Java writers give (added/deleted figures and running totals). Totals carry
 * on from the parent's summary in bigint arithmetic, so they are never rounded; as in Java, a total
 * the parent does not have is left out rather than restarted from zero (it would be wrong).
 */
function summarize(changes: SnapshotChanges, parent: Snapshot | undefined, removed: DataFile[]): SnapshotSummary {
  const prev = (key: string): bigint | undefined => {
    if (!parent) return 0n
    const v = parent.summary[key]
    return v !== undefined && /^-?\d+$/.test(v) ? BigInt(v) : undefined
  }
  const total = (key: string, change: bigint): bigint | undefined => {
    const p = prev(key)
    return p === undefined ? undefined : p + change
  }
  const added = (changes.addDataFiles ?? []).map((f) => f.file)
  const addedDeletes = (changes.addDeleteFiles ?? []).map((f) => f.file)
  const removedData = removed.filter((f) => f.content === 0)
  const removedDeletes = removed.filter((f) => f.content !== 0)
  const sum = (files: DataFile[], key: 'recordCount' | 'fileSizeInBytes'): bigint => files.reduce((n, f) => n + BigInt(f[key]), 0n)
  const figures: Record<string, bigint> = {
    'added-data-files': BigInt(added.length),
    'added-records': sum(added, 'recordCount'),
    'added-files-size': sum(added, 'fileSizeInBytes') + sum(addedDeletes, 'fileSizeInBytes'),
    'added-delete-files': BigInt(addedDeletes.length),
    'added-position-delete-files': BigInt(addedDeletes.length),
    'added-position-deletes': sum(addedDeletes, 'recordCount'),
    'deleted-data-files': BigInt(removedData.length),
    'deleted-records': sum(removedData, 'recordCount'),
    'removed-delete-files': BigInt(removedDeletes.length),
    'removed-position-deletes': sum(removedDeletes, 'recordCount'),
    'removed-files-size': sum(removed, 'fileSizeInBytes'),
  }
  const totals: Record<string, bigint | undefined> = {
    'total-data-files': total('total-data-files', figures['added-data-files']! - figures['deleted-data-files']!),
    'total-records': total('total-records', figures['added-records']! - figures['deleted-records']!),
    'total-delete-files': total('total-delete-files', figures['added-delete-files']! - figures['removed-delete-files']!),
    'total-position-deletes': total('total-position-deletes', figures['added-position-deletes']! - figures['removed-position-deletes']!),
    'total-equality-deletes': total('total-equality-deletes', 0n),
    'total-files-size': total('total-files-size', figures['added-files-size']! - figures['removed-files-size']!),
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...figures, ...totals })) if (v !== undefined && (v !== 0n || k.startsWith('total-'))) out[k] = String(v)
  return { ...out, ...(changes.summary ?? {}), operation: changes.operation }
}

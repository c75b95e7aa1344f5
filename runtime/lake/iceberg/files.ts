import { TributaryError, isTributaryError } from '../../errors.ts'
import { readManifest, readManifestList } from './manifest.ts'
import { schemaById } from './metadata.ts'
import { specById } from './partition.ts'
import type { LakeStorage } from '../storage.ts'
import type { LiveFile, ManifestFile, Snapshot, TableMetadata } from './types.ts'

/**
 * The files a snapshot holds, read from its manifest list and manifests: live entries only
 * (status added or existing), with inherited values resolved.
 */
export interface SnapshotFiles {
  manifests: ManifestFile[]
  data: LiveFile[]
  deletes: LiveFile[]
}

export async function snapshotFiles(storage: LakeStorage, md: TableMetadata, snapshot: Snapshot): Promise<SnapshotFiles> {
  /** A missing manifest list or manifest: named with its table and snapshot (never retriable: it will not come back). */
  const missing = (what: string) => (e: unknown): never => {
    if (!isTributaryError(e, 'TRIB_LAKE_FILE_NOT_FOUND')) throw e
    throw new TributaryError('TRIB_LAKE_FILE_NOT_FOUND', `table ${md.location}: the ${what} of snapshot ${snapshot['snapshot-id']} is missing (${e.message})`, {
      cause: e,
      details: { ...e.details, location: md.location, snapshotId: snapshot['snapshot-id'] },
    })
  }
  const manifests = await readManifestList(storage, snapshot['manifest-list']).catch(missing('manifest list'))
  const data: LiveFile[] = []
  const deletes: LiveFile[] = []
  // The current schema decodes partition values of every spec (ids never change meaning).
  const schema = schemaById(md, md['current-schema-id'])
  const entries = await Promise.all(manifests.map((m) => readManifest(storage, m, specById(md['partition-specs'], m.partitionSpecId), schema).catch(missing('manifest'))))
  for (const list of entries) {
    for (const e of list) {
      if (e.status === 2) continue
      const live: LiveFile = { dataFile: e.dataFile, specId: e.specId, snapshotId: e.snapshotId, sequenceNumber: e.sequenceNumber, fileSequenceNumber: e.fileSequenceNumber }
      if (e.dataFile.content === 0) data.push(live)
      else deletes.push(live)
    }
  }
  return { manifests, data, deletes }
}

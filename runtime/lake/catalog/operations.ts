import type { TableCommit } from '../iceberg/commit.ts'
import type { LoadedMetadata } from '../iceberg/metadata.ts'
import type { LakeStorage } from '../storage.ts'
import type { TableIdentifier } from './identifier.ts'

/**
 * The per-table half of a catalog (Iceberg's TableOperations): what a Table reads its metadata
 * from and commits through. Each catalog implementation provides one; the Table (table.ts) keeps
 * the retry loop, so every catalog commits with the same semantics.
 *
 * Contract:
 * - `storage` is rooted at the table's location: data, manifest and metadata files are written
 *   and read through it.
 * - `current` reads the table's latest metadata now (never a cached copy); a table that no longer
 *   exists is TRIB_LAKE_NOT_FOUND, an unreadable one TRIB_LAKE_CORRUPT naming the file.
 * - `commit(base, commit)` makes `commit` the table's next version on top of `base`, which the
 *   caller read through `current` (or got back from an earlier commit). Requirements are checked
 *   against `base`; a failed one is TRIB_LAKE_COMMIT_CONFLICT (never retried). It never applies the
 *   commit on top of other metadata: when `base` is no longer the latest version (another writer
 *   committed first) it writes nothing and resolves undefined, and the caller reads `current`,
 *   prepares again and retries. (A REST catalog can only be told what a requirement names: uuid,
 *   schema, spec, sort order, last ids and refs. Another writer's change of properties alone is not
 *   seen there, and a commit may land on top of it; property updates merge, so nothing is lost.) On success it resolves the new version. When it cannot learn
 *   whether the commit happened it throws TRIB_LAKE_COMMIT_STATE_UNKNOWN: the caller must reload
 *   before trying again.
 */
export interface TableOperations {
  readonly identifier: TableIdentifier
  readonly storage: LakeStorage
  current(): Promise<LoadedMetadata>
  commit(base: LoadedMetadata, commit: TableCommit): Promise<LoadedMetadata | undefined>
}

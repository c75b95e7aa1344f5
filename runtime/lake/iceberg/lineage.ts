import type { Snapshot, SnapshotId, TableMetadata } from './types.ts'

/**
 * A snapshot's ancestry across expiry. `ancestry` (metadata.ts) follows parent ids as far as the
 * current metadata has them; expiry removes parents (Java keeps the child's parent id, pointing
 * nowhere) and pyiceberg even drops the child's parent id. A snapshot's parent never changes once
 * committed, and the earlier metadata versions the metadata log lists still record it, so where the
 * current metadata loses the thread the walk continues there, newest version first.
 *
 * The walk reads nothing while the current metadata has the ancestors, so its cost is paid only by
 * tables whose history was expired.
 */
export interface Lineage {
  /** Newest first: the snapshot itself, then its parents, as far as any version records them. */
  snapshots: Snapshot[]
  /**
   * Whether the walk reached the first snapshot of the lineage. False when a parent was expired
   * from every version the log still lists (or a version could not be read): the history is cut.
   */
  complete: boolean
}

/** Reads an earlier metadata version named by the metadata log (undefined when it is gone or unreadable). */
export type ReadVersion = (file: string) => Promise<TableMetadata | undefined>

/**
 * Walks back from `id` until `stop` says a snapshot is the one looked for (it is included) or the
 * lineage ends. Earlier versions are read (newest first, each once) only where the current
 * metadata loses the parent.
 */
export async function lineage(md: TableMetadata, id: SnapshotId, read: ReadVersion, stop: (s: Snapshot) => boolean = () => false): Promise<Lineage> {
  const versions = new Versions(md, read)
  const out: Snapshot[] = []
  const seen = new Set<SnapshotId>()
  let current: SnapshotId | undefined = id
  while (current !== undefined && !seen.has(current)) {
    const s = await versions.snapshot(current)
    if (!s) return { snapshots: out, complete: false }
    out.push(s)
    seen.add(current)
    if (stop(s)) return { snapshots: out, complete: true }
    const parent = await versions.parent(s)
    if (parent === CUT) return { snapshots: out, complete: false }
    current = parent
  }
  return { snapshots: out, complete: true }
}

/** The parent of a snapshot is unknown: no version the log lists goes back far enough to tell. */
const CUT = Symbol('cut')

/** The current metadata and the earlier versions of its metadata log, read newest first when needed. */
class Versions {
  /** Earlier versions in log order, newest first; undefined where one is gone or unreadable. */
  readonly #loaded: (TableMetadata | undefined)[] = []
  readonly #files: string[]

  constructor(
    private readonly md: TableMetadata,
    private readonly read: ReadVersion,
  ) {
    this.#files = md['metadata-log'].map((e) => e['metadata-file']).reverse()
  }

  async snapshot(id: SnapshotId): Promise<Snapshot | undefined> {
    for await (const v of this.#all()) {
      const s = v?.snapshots.find((x) => x['snapshot-id'] === id)
      if (s) return s
    }
    return undefined
  }

  /**
   * The parent id of `s`: its own when it has one, else the one an earlier version recorded for
   * the same snapshot (an expiry dropped it). Undefined for a first snapshot: sequence number 1, or
   * one that the version just before it was added shows was added without a parent. CUT when
   * neither can be told (the log does not reach back far enough, or a version in between is gone).
   */
  async parent(s: Snapshot): Promise<SnapshotId | undefined | typeof CUT> {
    if (s['parent-snapshot-id'] !== undefined) return s['parent-snapshot-id']
    if (s['sequence-number'] <= 1) return undefined
    let gap = false
    for await (const v of this.#all()) {
      if (!v) {
        gap = true
        continue
      }
      const same = v.snapshots.find((x) => x['snapshot-id'] === s['snapshot-id'])
      if (!same) return gap ? CUT : undefined
      if (same['parent-snapshot-id'] !== undefined) return same['parent-snapshot-id']
    }
    return CUT
  }

  /** The current metadata, then each earlier version, newest first (undefined for one that cannot be read). */
  async *#all(): AsyncGenerator<TableMetadata | undefined> {
    yield this.md
    for (let i = 0; ; i++) {
      if (i === this.#loaded.length) {
        const file = this.#files.shift()
        if (file === undefined) return
        this.#loaded.push(await this.read(file))
      }
      yield this.#loaded[i]
    }
  }
}

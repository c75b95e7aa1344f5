import { describe, expect, it } from 'vitest'
import { lineage } from '../../../runtime/lake/iceberg/lineage.ts'
import type { Snapshot, SnapshotId, TableMetadata } from '../../../runtime/lake/iceberg/types.ts'

/**
 * A snapshot's ancestry across expiry: where the current metadata lost a parent (removed, as Java
 * expires, or the child's parent id dropped, as pyiceberg expires), the earlier versions of the
 * metadata log are read, newest first and only when needed; a history that cannot be followed is
 * reported cut, never taken for a beginning.
 */
const A = 2n ** 62n + 1n
const B = 2n ** 62n + 2n
const C = 2n ** 62n + 3n
const D = 2n ** 62n + 4n

const snap = (id: SnapshotId, seq: number, parent?: SnapshotId): Snapshot => ({
  'snapshot-id': id,
  ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
  'sequence-number': seq,
  'timestamp-ms': 1_700_000_000_000 + seq,
  'manifest-list': `file:///t/metadata/snap-${id}.avro`,
  summary: { operation: 'append' },
})

/** Metadata versions v1..vN of one table; `log` lists the earlier files of the last one. */
function versions(...snapshotLists: Snapshot[][]): { md: TableMetadata; files: Map<string, TableMetadata> } {
  const files = new Map<string, TableMetadata>()
  let md: TableMetadata | undefined
  snapshotLists.forEach((snapshots, i) => {
    md = { snapshots, 'metadata-log': [...files.keys()].map((f) => ({ 'timestamp-ms': 0, 'metadata-file': f })) } as unknown as TableMetadata
    files.set(`file:///t/metadata/v${i + 1}.metadata.json`, md)
  })
  return { md: md!, files }
}

function reader(files: Map<string, TableMetadata>, missing: string[] = []): { read: (f: string) => Promise<TableMetadata | undefined>; reads: string[] } {
  const reads: string[] = []
  return {
    reads,
    read: async (f) => {
      reads.push(f)
      return missing.some((m) => f.endsWith(m)) ? undefined : files.get(f)
    },
  }
}
const ids = (l: { snapshots: Snapshot[] }): SnapshotId[] => l.snapshots.map((s) => s['snapshot-id'])

describe('lineage across expiry', () => {
  it('follows parents in the current metadata without reading anything', async () => {
    const { md, files } = versions([snap(A, 1), snap(B, 2, A), snap(C, 3, B)])
    const r = reader(files)
    expect(await lineage(md, C, r.read)).toMatchObject({ complete: true })
    expect(ids(await lineage(md, C, r.read))).toEqual([C, B, A])
    expect(r.reads).toEqual([])
  })

  it('finds an expired parent (Java keeps the dangling id) in an earlier version', async () => {
    const { md, files } = versions([snap(A, 1), snap(B, 2, A)], [snap(A, 1), snap(B, 2, A), snap(C, 3, B)], [snap(C, 3, B)])
    const r = reader(files)
    const l = await lineage(md, C, r.read)
    expect(ids(l)).toEqual([C, B, A])
    expect(l.complete).toBe(true)
    expect(r.reads).toEqual(['file:///t/metadata/v2.metadata.json']) // newest first, no more than needed
  })

  it('finds a parent id pyiceberg dropped in the version before the expiry', async () => {
    const { md, files } = versions([snap(A, 1), snap(B, 2, A), snap(C, 3, B)], [snap(C, 3)])
    const l = await lineage(md, C, reader(files).read)
    expect(ids(l)).toEqual([C, B, A])
    expect(l.complete).toBe(true)
  })

  it('stops at the first snapshot the caller looks for', async () => {
    const { md, files } = versions([snap(A, 1), snap(B, 2, A), snap(C, 3, B), snap(D, 4, C)])
    expect(ids(await lineage(md, D, reader(files).read, (s) => s['snapshot-id'] === B))).toEqual([D, C, B])
  })

  it('takes a snapshot for a beginning only when it is one: sequence 1, or seen being added without a parent', async () => {
    const { md, files } = versions([snap(A, 1)], [snap(A, 1), snap(B, 5)])
    expect(await lineage(md, B, reader(files).read)).toMatchObject({ complete: true, snapshots: [expect.objectContaining({ 'snapshot-id': B })] })
  })

  it('reports a cut history: the log does not reach back far enough, or a version in between is gone', async () => {
    const short = versions([snap(C, 3)])
    expect(await lineage(short.md, C, reader(short.files).read)).toMatchObject({ complete: false })
    const gone = versions([snap(A, 1), snap(B, 2, A)], [snap(B, 2, A)], [snap(B, 2)])
    // v2 cannot be read, but v1 recorded B's parent too: the walk goes on.
    expect(ids(await lineage(gone.md, B, reader(gone.files, ['v2.metadata.json']).read))).toEqual([B, A])
    const gap = versions([snap(A, 1)], [snap(A, 1), snap(B, 2, A)], [snap(B, 2)])
    // v2 (the only version that recorded B's parent) is gone, and v1 lacks B: a gap before its birth is a cut.
    expect(await lineage(gap.md, B, reader(gap.files, ['v2.metadata.json']).read)).toMatchObject({ complete: false })
    const dangling = versions([snap(B, 2, A)])
    expect(await lineage(dangling.md, B, reader(dangling.files).read)).toMatchObject({ complete: false, snapshots: [expect.objectContaining({ 'snapshot-id': B })] })
  })
})

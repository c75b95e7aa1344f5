import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { openFileStorage } from '../../../connectors/storage/file/index.ts'
import { applyCommit } from '../../../runtime/lake/iceberg/commit.ts'
import { compareIds, newSnapshotId, parseSnapshotId, toSnapshotId, type SnapshotId } from '../../../runtime/lake/iceberg/ids.ts'
import { encodeAvroFile } from '../../../runtime/lake/iceberg/avro-file.ts'
import { readManifest, readManifestList, writeManifest, writeManifestList } from '../../../runtime/lake/iceberg/manifest.ts'
import { manifestEntrySchema } from '../../../runtime/lake/iceberg/manifest-schema.ts'
import { ancestry, parseMetadata, serializeMetadata } from '../../../runtime/lake/iceberg/metadata.ts'
import { UNPARTITIONED } from '../../../runtime/lake/iceberg/partition.ts'
import type { DataFile, Snapshot, TableMetadata } from '../../../runtime/lake/iceberg/types.ts'
import { tempDirs, tempLakes } from './support.ts'

/**
 * Iceberg metadata read and written exactly (issue 8 item 4): snapshot ids are any int64 (Java and
 * pyiceberg draw 63-bit ones) through table metadata JSON and through manifest lists and manifests
 * (Avro longs), quantities beyond 2^53 are refused naming the field, never rounded, and messages
 * print ids with every digit.
 */
const MAX = 2n ** 63n - 1n
const MIN = -(2n ** 63n)
const edges: bigint[] = [MAX, -MAX, MIN, 2n ** 53n, 2n ** 53n + 1n, 2n ** 53n - 1n, -(2n ** 53n) - 1n, 1n, 0n, -1n, 3077426638724494123n]
/** An int64 in the value model's form (ids.ts): a number while safe, a bigint beyond. */
const id = (v: bigint): SnapshotId => toSnapshotId(v)!
const int64 = fc.oneof(fc.bigInt({ min: MIN, max: MAX }), fc.constantFrom(...edges)).map(id)

const tempDir = tempDirs('trib-exact-')
const lakes = tempLakes('trib-exact-lake-')

/** Metadata text as Java or pyiceberg would write it: ids as bare JSON integers. */
function foreignMetadata(ids: { current: bigint; parent: bigint; tag: bigint }): string {
  const snapshot = (sid: bigint, parent: bigint | undefined, seq: number): string =>
    `{"snapshot-id":${sid},${parent === undefined ? '' : `"parent-snapshot-id":${parent},`}"sequence-number":${seq},"timestamp-ms":${1700000000000 + seq},"manifest-list":"file:///t/metadata/snap-${sid}.avro","summary":{"operation":"append"},"schema-id":0}`
  return `{"format-version":2,"table-uuid":"2f5d8a3e-0000-4000-8000-000000000000","location":"file:///t","last-sequence-number":3,"last-updated-ms":1700000000003,"last-column-id":1,
    "schemas":[{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}],"current-schema-id":0,
    "partition-specs":[{"spec-id":0,"fields":[]}],"default-spec-id":0,"last-partition-id":999,"sort-orders":[{"order-id":0,"fields":[]}],"default-sort-order-id":0,
    "properties":{"owner":"spark"},"current-snapshot-id":${ids.current},
    "snapshots":[${snapshot(ids.tag, undefined, 1)},${snapshot(ids.parent, ids.tag, 2)},${snapshot(ids.current, ids.parent, 3)}],
    "snapshot-log":[{"timestamp-ms":1700000000001,"snapshot-id":${ids.tag}},{"timestamp-ms":1700000000003,"snapshot-id":${ids.current}}],
    "metadata-log":[],"refs":{"main":{"snapshot-id":${ids.current},"type":"branch"},"v1":{"snapshot-id":${ids.tag},"type":"tag","max-ref-age-ms":9223372036854775807}},
    "statistics":[{"snapshot-id":${ids.current},"statistics-path":"file:///t/metadata/s.puffin","file-size-in-bytes":10,"file-footer-size-in-bytes":4,"blob-metadata":[]}]}`
}

describe('snapshot ids', () => {
  it('are drawn as Java draws them: positive 63-bit, in the one int64 form', () => {
    const drawn = Array.from({ length: 2000 }, () => newSnapshotId())
    for (const d of drawn) {
      expect(d > 0).toBe(true)
      expect(BigInt(d) <= MAX).toBe(true)
      expect(toSnapshotId(d)).toBe(d)
    }
    // Nearly every one is beyond 2^53 (a safe one is a 1-in-1024 draw), so every table exercises the exact path.
    expect(drawn.filter((d) => typeof d === 'bigint').length).toBeGreaterThan(1900)
    const taken = new Set(drawn)
    expect(taken.has(newSnapshotId((x) => taken.has(x)))).toBe(false)
  })

  it('parse from decimal text exactly, and refuse what is not an int64', () => {
    expect(parseSnapshotId('9223372036854775807')).toBe(MAX)
    expect(parseSnapshotId('-9223372036854775808')).toBe(MIN)
    expect(parseSnapshotId('9007199254740993')).toBe(9007199254740993n)
    expect(parseSnapshotId('9007199254740991')).toBe(9007199254740991)
    for (const bad of ['9223372036854775808', '1e3', '1.0', '', 'abc', '0x10']) expect(parseSnapshotId(bad), bad).toBeUndefined()
    expect(toSnapshotId(2 ** 60)).toBeUndefined() // a number that may already be rounded
  })
})

describe('table metadata JSON', () => {
  it('reads and writes every int64 id exactly (property: any int64, edges included)', () => {
    fc.assert(
      fc.property(int64, int64, int64, (a, b, c) => {
        fc.pre(new Set([a, b, c, -1]).size === 4) // -1 is the spec's "no current snapshot"
        const text = foreignMetadata({ current: BigInt(a), parent: BigInt(b), tag: BigInt(c) })
        const md = parseMetadata(text, 'v3.metadata.json')
        expect(md['current-snapshot-id']).toBe(a)
        expect(md.snapshots.map((s) => [s['snapshot-id'], s['parent-snapshot-id']])).toEqual([[c, undefined], [b, c], [a, b]])
        expect(md.refs.v1?.['snapshot-id']).toBe(c)
        expect(md['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([c, a])
        expect(ancestry(md, a).map((s) => s['snapshot-id'])).toEqual([a, b, c])
        // Written back, read again: the same values, and the text holds every digit.
        const again = serializeMetadata(md)
        expect(parseMetadata(again, 'v4.metadata.json')).toEqual(md)
        for (const x of [a, b, c]) expect(again.toString()).toContain(`"snapshot-id":${x}`)
      }),
      { numRuns: 200, seed: 8 },
    )
  })

  it('keeps what it does not model exactly as the writer wrote it', () => {
    const md = parseMetadata(foreignMetadata({ current: MAX, parent: 2n ** 62n, tag: 5n }), 'v3.metadata.json')
    const text = serializeMetadata(md).toString()
    expect(text).toContain('"max-ref-age-ms":9223372036854775807')
    expect(text).toContain('"statistics":[{"snapshot-id":9223372036854775807,')
    expect(text).toContain('"owner":"spark"')
  })

  it('refuses a value it cannot hold exactly, naming the file, the place and the value as written', () => {
    const good = foreignMetadata({ current: 3n, parent: 2n, tag: 1n })
    const cases: [string, string, RegExp][] = [
      ['a snapshot id beyond int64', good.replace('"current-snapshot-id":3', '"current-snapshot-id":9223372036854775808'), /v9\.metadata\.json has current-snapshot-id 9223372036854775808, not a 64-bit integer/],
      ['a fractional snapshot id', good.replace('{"snapshot-id":2,', '{"snapshot-id":2.5,'), /snapshots\[1\]\.snapshot-id 2\.5, not a 64-bit integer/],
      ['a string parent id', good.replace('"parent-snapshot-id":2', '"parent-snapshot-id":"2"'), /snapshots\[2\]\.parent-snapshot-id "2", not a 64-bit integer/],
      ['a sequence number beyond 2^53', good.replace('"sequence-number":3', '"sequence-number":9007199254740993'), /snapshots\[2\]\.sequence-number 9007199254740993, not an integer within 2\^53/],
      ['a last-updated-ms that is no integer', good.replace('"last-updated-ms":1700000000003', '"last-updated-ms":1.5'), /has last-updated-ms 1\.5, not an integer within 2\^53/],
      ['garbage', good.slice(0, 200), /v9\.metadata\.json is not valid JSON \(.*position \d+/],
    ]
    for (const [what, text, message] of cases) {
      expect(() => parseMetadata(text, 'v9.metadata.json'), what).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringMatching(message) }))
    }
    // A dangling reference is named with every digit of the id.
    const dangling = good.replace('"v1":{"snapshot-id":1,', '"v1":{"snapshot-id":9223372036854775807,')
    expect(() => parseMetadata(dangling, 'v9.metadata.json')).toThrow(/ref v1 pointing to snapshot 9223372036854775807, which is not in snapshots/)
  })
})

describe('commits on top of metadata another engine wrote', () => {
  it('add a snapshot whose parent is a 63-bit id, and keep every id exact through the catalog', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] } })
    const first = await t.newSnapshot({ addRows: [{ id: 1 }] })
    const second = await t.newSnapshot({ addRows: [{ id: 2 }] })
    expect(second['parent-snapshot-id']).toBe(first['snapshot-id'])
    const reloaded = await lake.load()
    expect(reloaded.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([first['snapshot-id'], second['snapshot-id']])
    expect(reloaded.snapshot({ snapshotId: first['snapshot-id'] })).toEqual(first)
    // The metadata file holds the ids as bare integers with every digit.
    const text = fs.readFileSync(new URL(reloaded.metadataFile), 'utf8')
    expect(text).toContain(`"current-snapshot-id":${second['snapshot-id']}`)
  })

  it('applies updates naming ids in either form, and refuses an id that is no int64', () => {
    const md = parseMetadata(foreignMetadata({ current: MAX, parent: 2n ** 60n, tag: 1n }), 'v3.metadata.json')
    const snapshot: Snapshot = { 'snapshot-id': 2n ** 62n, 'parent-snapshot-id': MAX, 'sequence-number': 4, 'timestamp-ms': 1700000000004, 'manifest-list': 'file:///t/x.avro', summary: { operation: 'append' } }
    const next = applyCommit(md, { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': MAX }], updates: [{ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 2n ** 62n }] }, { nowMs: 1700000000005 })
    expect(next['current-snapshot-id']).toBe(2n ** 62n)
    // A safe id given as a bigint is stored as the number it is, so lookups by === find it.
    const small = applyCommit(next, { requirements: [], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'b', type: 'branch', 'snapshot-id': 1n }] }, { nowMs: 1700000000006 })
    expect(small.refs.b?.['snapshot-id']).toBe(1)
    expect(() => applyCommit(next, { requirements: [], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'c', type: 'branch', 'snapshot-id': 2 ** 60 }] }, { nowMs: 1 })).toThrow(
      expect.objectContaining({ code: 'TRIB_LAKE_INVALID_UPDATE' }),
    )
    // Removing snapshots drops their statistics files too (kept as the other writer wrote them otherwise).
    const removed = applyCommit(next, { requirements: [], updates: [{ action: 'remove-snapshots', 'snapshot-ids': [2n ** 60n] }] }, { nowMs: 1700000000007 })
    expect(removed.snapshots.map((s) => s['snapshot-id'])).toEqual([1, MAX, 2n ** 62n])
    expect((removed as TableMetadata & { statistics: unknown[] }).statistics).toHaveLength(1)
  })
})

describe('manifest lists and manifests (Avro longs)', () => {
  const schema = { type: 'struct' as const, 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' as const }] }
  const file = (name: string, content: 0 | 1 = 0): DataFile => ({ content, filePath: `file:///t/data/${name}.parquet`, fileFormat: 'PARQUET', partition: {}, recordCount: 3, fileSizeInBytes: 100 })

  it('round-trip every int64 snapshot id exactly (property: any int64, edges included)', async () => {
    const dir = tempDir()
    const storage = openFileStorage(dir)
    let n = 0
    await fc.assert(
      fc.asyncProperty(int64, int64, int64, async (added, existing, parent) => {
        const m = `metadata/m${n++}.avro`
        const w = await writeManifest(storage, m, {
          schema,
          spec: UNPARTITIONED,
          content: 0,
          snapshotId: added,
          entries: [
            { status: 1, snapshotId: added, sequenceNumber: null, fileSequenceNumber: null, dataFile: file('a') },
            { status: 0, snapshotId: existing, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: file('b') },
          ],
        })
        const list = `metadata/snap-${n}.avro`
        await writeManifestList(storage, list, [{ ...w.file, sequenceNumber: 2, minSequenceNumber: 1 }], { snapshotId: added, parentSnapshotId: parent, sequenceNumber: 2 })
        const [back] = await readManifestList(storage, list)
        expect(back?.addedSnapshotId).toBe(added)
        const entries = await readManifest(storage, back!, UNPARTITIONED, schema)
        expect(entries.map((e) => e.snapshotId)).toEqual([added, existing])
      }),
      { numRuns: 60, seed: 8 },
    )
  })

  it('refuses a count beyond 2^53 naming the file, the entry and the field', async () => {
    const dir = tempDir()
    const storage = openFileStorage(dir)
    // A record count no real file has, written as an exact long: read back, it is refused, not rounded.
    const record = { status: 0, snapshot_id: 1, sequence_number: 1, file_sequence_number: 1, data_file: { content: 0, file_path: 'file:///t/data/huge.parquet', file_format: 'PARQUET', partition: {}, record_count: 2n ** 60n, file_size_in_bytes: 100 } }
    await storage.write('metadata/m.avro', encodeAvroFile(manifestEntrySchema(UNPARTITIONED, schema), [record], {}))
    const manifest = { manifestPath: `file://${path.join(dir, 'metadata/m.avro')}`, manifestLength: 1, partitionSpecId: 0, content: 0 as const, sequenceNumber: 1, minSequenceNumber: 1, addedSnapshotId: 1, addedFilesCount: 0, existingFilesCount: 1, deletedFilesCount: 0, addedRowsCount: 0, existingRowsCount: 0, deletedRowsCount: 0, partitions: [] }
    await expect(readManifest(storage, manifest, UNPARTITIONED, schema)).rejects.toMatchObject({
      code: 'TRIB_LAKE_CORRUPT',
      message: expect.stringMatching(/m\.avro has entry 0 \(file:\/\/\/t\/data\/huge\.parquet\) with record_count 1152921504606846976, not an integer within 2\^53/),
    })
  })
})

it('ids order numerically across both forms', () => {
  expect([MAX, 5, -(2n ** 60n), 2n ** 53n, 0].sort(compareIds)).toEqual([-(2n ** 60n), 0, 5, 2n ** 53n, MAX])
})

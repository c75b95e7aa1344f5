import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeAvroFile } from '../../../runtime/lake/iceberg/avro-file.ts'
import { readManifest, readManifestList, writeManifest, writeManifestList } from '../../../runtime/lake/iceberg/manifest.ts'
import { buildPartitionSpec } from '../../../runtime/lake/iceberg/partition.ts'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'
import { openFileStorage } from '../../../connectors/storage/file/index.ts'
import type { DataFile, ManifestEntry, ManifestFile } from '../../../runtime/lake/iceberg/types.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-manifest-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const { schema } = avroToIcebergSchema({
  type: 'record',
  name: 'R',
  fields: [{ name: 'id', type: 'long' }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } }, { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 20, scale: 2 } }],
})
const { spec } = buildPartitionSpec(schema, ['day(ts)', 'bucket[4](id)', 'amount'], 0, 999)

const file = (name: string, day: number | null, amount: bigint): DataFile => ({
  content: 0,
  filePath: `file://${dir}/data/${name}.parquet`,
  fileFormat: 'PARQUET',
  partition: { ts_day: day, id_bucket: 1, amount },
  recordCount: 10,
  fileSizeInBytes: 1234,
  valueCounts: new Map([[1, 10]]),
  nullValueCounts: new Map([[1, 0]]),
  lowerBounds: new Map([[1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])]]),
  upperBounds: new Map([[1, Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])]]),
})

/** Every record field, array and logical map of an Avro schema carries the Iceberg ids. */
function assertIds(avro: unknown, where = ''): void {
  if (Array.isArray(avro)) return avro.forEach((b) => assertIds(b, where))
  if (avro === null || typeof avro !== 'object') return
  const t = avro as Record<string, unknown>
  if (t.type === 'record') {
    for (const f of t.fields as Record<string, unknown>[]) {
      expect(typeof f['field-id'], `${where}.${String(f.name)} field-id`).toBe('number')
      assertIds(f.type, `${where}.${String(f.name)}`)
    }
  } else if (t.type === 'array') {
    if (t.logicalType === 'map') {
      const kv = (t.items as { fields: Record<string, unknown>[] }).fields
      expect(kv.map((f) => [f.name, typeof f['field-id']]), `${where} key/value ids`).toEqual([['key', 'number'], ['value', 'number']])
    } else expect(typeof t['element-id'], `${where} element-id`).toBe('number')
    assertIds(t.items, where)
  }
}

describe('manifests and manifest lists', () => {
  it('write every field id and the required key-value metadata, and read back with inheritance', async () => {
    const storage = openFileStorage(dir)
    const entries: ManifestEntry[] = [
      { status: 1, snapshotId: 7, sequenceNumber: null, fileSequenceNumber: null, dataFile: file('a', 19000, 1250n) },
      { status: 0, snapshotId: 5, sequenceNumber: 2, fileSequenceNumber: 3, dataFile: file('b', null, -5n) },
      { status: 2, snapshotId: 7, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: file('c', 19001, 0n) },
    ]
    const w = await writeManifest(storage, 'metadata/m1.avro', { schema, spec, content: 0, snapshotId: 7, entries })
    expect(w.file).toMatchObject({ addedFilesCount: 1, existingFilesCount: 1, deletedFilesCount: 1, addedRowsCount: 10, existingRowsCount: 10, deletedRowsCount: 10 })
    expect(w.minExplicitSequence).toBe(2)
    // As Java's PartitionSummary: every entry counts, the deleted one too; contains_nan is false, never null.
    expect(w.file.partitions[0]).toEqual({ containsNull: true, containsNan: false, lowerBound: Buffer.from([0x38, 0x4a, 0, 0]), upperBound: Buffer.from([0x39, 0x4a, 0, 0]) })

    const raw = decodeAvroFile(fs.readFileSync(path.join(dir, 'metadata/m1.avro')))
    assertIds(raw.schema)
    expect(raw.metadata).toMatchObject({ 'schema-id': '0', 'partition-spec-id': '0', 'format-version': '2', content: 'data' })
    expect(JSON.parse(raw.metadata.schema as string)).toEqual(schema)
    expect(JSON.parse(raw.metadata['partition-spec'] as string)).toEqual(spec.fields)

    const manifest: ManifestFile = { ...w.file, sequenceNumber: 4, minSequenceNumber: 2 }
    await writeManifestList(storage, 'metadata/snap-7.avro', [manifest], { snapshotId: 7, parentSnapshotId: 5, sequenceNumber: 4 })
    const list = decodeAvroFile(fs.readFileSync(path.join(dir, 'metadata/snap-7.avro')))
    assertIds(list.schema)
    expect(list.metadata).toEqual({ 'snapshot-id': '7', 'parent-snapshot-id': '5', 'sequence-number': '4', 'format-version': '2' })

    const [back] = await readManifestList(storage, `file://${dir}/metadata/snap-7.avro`)
    expect(back).toEqual(manifest)
    const read = await readManifest(storage, back as ManifestFile, spec, schema)
    expect(read.map((e) => [e.status, e.snapshotId, e.sequenceNumber, e.fileSequenceNumber])).toEqual([[1, 7, 4, 4], [0, 5, 2, 3], [2, 7, 1, 1]])
    // Written as Java writes a data file that names no order: sort order 0 (unsorted).
    expect(read[0]?.dataFile).toEqual({ ...entries[0]?.dataFile, sortOrderId: 0 })
    expect(read[1]?.dataFile.partition).toEqual({ ts_day: null, id_bucket: 1, amount: -5n })
  })

  it('reports an unreadable manifest as TRIB_LAKE_CORRUPT naming it', async () => {
    const storage = openFileStorage(dir)
    fs.writeFileSync(path.join(dir, 'metadata/bad.avro'), 'Obj\x01 not really')
    await expect(readManifestList(storage, 'metadata/bad.avro')).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('metadata/bad.avro') })
  })

  it('writes the optional fields Java writers always write (Spark and Trino dereference them)', async () => {
    const storage = openFileStorage(dir)
    const deletes: DataFile = { ...file('d', 19000, 1n), content: 1 }
    const w = await writeManifest(storage, 'metadata/java.avro', {
      schema,
      spec,
      content: 0,
      snapshotId: 9,
      entries: [{ status: 1, snapshotId: 9, sequenceNumber: null, fileSequenceNumber: null, dataFile: file('a', 19000, 1n) }],
    })
    const raw = decodeAvroFile(fs.readFileSync(path.join(dir, 'metadata/java.avro')))
    // Trino's $entries throws on a null sort_order_id: data files say 0 (unsorted), as Java's DataFiles.Builder.
    expect((raw.records[0]?.data_file as Record<string, unknown>).sort_order_id).toBe(0)
    await writeManifest(storage, 'metadata/java-deletes.avro', { schema, spec, content: 1, snapshotId: 9, entries: [{ status: 1, snapshotId: 9, sequenceNumber: null, fileSequenceNumber: null, dataFile: deletes }] })
    const rawDeletes = decodeAvroFile(fs.readFileSync(path.join(dir, 'metadata/java-deletes.avro')))
    // Java refuses a sort order on a position delete file (FileMetadata.Builder): none.
    expect((rawDeletes.records[0]?.data_file as Record<string, unknown>).sort_order_id).toBeNull()
    // Spark's all_manifests throws on a null contains_nan: false, as Java's PartitionSummary.
    await writeManifestList(storage, 'metadata/snap-9.avro', [{ ...w.file, sequenceNumber: 1, minSequenceNumber: 1 }], { snapshotId: 9, parentSnapshotId: undefined, sequenceNumber: 1 })
    const list = decodeAvroFile(fs.readFileSync(path.join(dir, 'metadata/snap-9.avro')))
    const summaries = list.records[0]?.partitions as Record<string, unknown>[]
    expect(summaries).toHaveLength(3)
    for (const p of summaries) expect(p.contains_nan).toBe(false)
    expect(list.metadata['parent-snapshot-id']).toBe('null')
  })

  it('says contains_nan true for a NaN partition value and keeps NaN out of the bounds', async () => {
    const storage = openFileStorage(dir)
    const { schema: dschema } = avroToIcebergSchema({ type: 'record', name: 'D', fields: [{ name: 'x', type: 'double' }] })
    const { spec: dspec } = buildPartitionSpec(dschema, ['x'], 0, 999)
    const at = (x: number | null, name: string): ManifestEntry => ({ status: 1, snapshotId: 1, sequenceNumber: null, fileSequenceNumber: null, dataFile: { ...file(name, null, 0n), partition: { x } } })
    const w = await writeManifest(storage, 'metadata/nan.avro', { schema: dschema, spec: dspec, content: 0, snapshotId: 1, entries: [at(NaN, 'n'), at(-2.5, 'lo'), at(7, 'hi'), at(null, 'z')] })
    const double = (v: number): Buffer => {
      const b = Buffer.alloc(8)
      b.writeDoubleLE(v)
      return b
    }
    expect(w.file.partitions).toEqual([{ containsNull: true, containsNan: true, lowerBound: double(-2.5), upperBound: double(7) }])
  })

  it('keeps every field of another writer\'s entry when it rewrites the manifest', async () => {
    const storage = openFileStorage(dir)
    const foreign: DataFile = {
      ...file('foreign', 19002, 3n),
      columnSizes: new Map([[1, 40], [2, 44]]),
      splitOffsets: [4, 1_000_000],
      keyMetadata: Buffer.from('key'),
      sortOrderId: null,
      referencedDataFile: 'file:///elsewhere.parquet',
    }
    await writeManifest(storage, 'metadata/foreign.avro', { schema, spec, content: 0, snapshotId: 3, entries: [{ status: 0, snapshotId: 3, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: foreign }] })
    const manifest: ManifestFile = { manifestPath: `file://${dir}/metadata/foreign.avro`, manifestLength: 1, partitionSpecId: 0, content: 0, sequenceNumber: 1, minSequenceNumber: 1, addedSnapshotId: 3, addedFilesCount: 0, existingFilesCount: 1, deletedFilesCount: 0, addedRowsCount: 0, existingRowsCount: 10, deletedRowsCount: 0, partitions: [] }
    const [read] = await readManifest(storage, manifest, spec, schema)
    expect(read?.dataFile).toEqual(foreign)
    // Rewritten (as a snapshot that removes it does: status deleted), then read again: nothing lost.
    await writeManifest(storage, 'metadata/foreign-2.avro', { schema, spec, content: 0, snapshotId: 4, entries: [{ ...read!, status: 2, snapshotId: 4 }] })
    const [again] = await readManifest(storage, { ...manifest, manifestPath: `file://${dir}/metadata/foreign-2.avro` }, spec, schema)
    expect(again?.dataFile).toEqual(foreign)
  })
})

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
    expect(w.file.partitions[0]).toMatchObject({ containsNull: true, lowerBound: Buffer.from([0x38, 0x4a, 0, 0]), upperBound: Buffer.from([0x38, 0x4a, 0, 0]) })

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
    expect(read[0]?.dataFile).toEqual(entries[0]?.dataFile)
    expect(read[1]?.dataFile.partition).toEqual({ ts_day: null, id_bucket: 1, amount: -5n })
  })

  it('reports an unreadable manifest as TRIB_LAKE_CORRUPT naming it', async () => {
    const storage = openFileStorage(dir)
    fs.writeFileSync(path.join(dir, 'metadata/bad.avro'), 'Obj\x01 not really')
    await expect(readManifestList(storage, 'metadata/bad.avro')).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT', message: expect.stringContaining('metadata/bad.avro') })
  })
})

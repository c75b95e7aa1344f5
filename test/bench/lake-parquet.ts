import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { columnarPlan, ColumnBatch } from '../../runtime/lake/write/avro-columns.ts'
import { writeColumnBatch, writeParquetFiles } from '../../runtime/lake/write/parquet.ts'
import { UNPARTITIONED } from '../../runtime/lake/iceberg/partition.ts'
import { avroToIcebergSchema } from '../../runtime/lake/iceberg/schema.ts'
import { tableId } from '../../runtime/lake/catalog/identifier.ts'
import { tableRequest } from '../../runtime/lake/iceberg/create.ts'
import { createType } from '../../runtime/codec/types/logical-types.ts'
import { frame } from '../../runtime/codec/avro/wire.ts'
import { openTestLake } from '../helpers/lake.ts'

const ROWS = 1_000_000

/** 12 fields of the kinds product outputs have: keys, text, numbers, a decimal, dates, timestamps. */
const SCHEMA = {
  type: 'record',
  name: 'BenchRow',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'user_id', type: 'long' },
    { name: 'email', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'premium', 'family'] } },
    { name: 'age', type: ['null', 'int'], default: null },
    { name: 'score', type: 'double' },
    { name: 'active', type: 'boolean' },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'birthday', type: { type: 'int', logicalType: 'date' } },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
}

function rows(n: number): Record<string, unknown>[] {
  const plans = ['free', 'premium', 'family']
  const countries = ['FR', 'DE', 'US', 'JP', 'BR', 'IN']
  const t0 = Date.UTC(2024, 0, 1)
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    user_id: (i * 7919) % 100_000,
    email: `user${i}@example.com`,
    country: countries[i % countries.length],
    plan: plans[i % 3],
    age: i % 10 === 0 ? null : 18 + (i % 60),
    score: (i % 1000) / 7,
    active: i % 2 === 0,
    amount: `${i % 100000}.${String(i % 100).padStart(2, '0')}`,
    birthday: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    created_at: new Date(t0 + i * 1000).toISOString(),
    note: i % 3 === 0 ? null : `note ${i % 977}`,
  }))
}

/**
 * The lake's Parquet writers: 1M canonical rows of 12 fields converted column by column into DuckDB
 * data chunks and copied to one Parquet file with field ids and column stats; the same rows as
 * framed Avro bodies decoded straight into Parquet columns (the columnar path compaction takes);
 * then the rows committed as a day-partitioned snapshot (writer + manifests + metadata).
 */
export async function benchLakeParquet(n = ROWS): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-lake-'))
  const { catalog, lake, close } = await openTestLake(dir)
  try {
    const data = rows(n)
    const { schema } = avroToIcebergSchema(SCHEMA)
    const storage = await lake.storage.open(path.join(dir, 'files'))
    ;(await lake.duckdb.connect()).closeSync()
    let t = performance.now()
    const [file] = await writeParquetFiles(lake, storage, { schema, spec: UNPARTITIONED, rows: data })
    const writeMs = performance.now() - t

    const type = createType(SCHEMA)
    const bodies = data.map((r) => frame(1, type.toBuffer(r)))
    const plan = columnarPlan(SCHEMA, schema)!
    t = performance.now()
    const batch = new ColumnBatch(schema)
    for (const b of bodies) plan.append(batch, b, 5, b.length)
    const columnar = await writeColumnBatch(lake, storage, batch)
    const columnarMs = performance.now() - t

    const table = await catalog.createTable(tableId('bench', 'table'), tableRequest({ avroSchema: SCHEMA, partitionBy: ['day(created_at)'] }))
    t = performance.now()
    const snapshot = await table.newSnapshot({ addRows: data })
    const commitMs = performance.now() - t
    return {
      rows: n,
      writeRowsPerSec: Math.round(n / (writeMs / 1000)),
      writeMs: Math.round(writeMs),
      fileBytes: file?.fileSizeInBytes ?? 0,
      bytesPerRow: Math.round(((file?.fileSizeInBytes ?? 0) / n) * 10) / 10,
      columnarWriteRowsPerSec: Math.round(n / (columnarMs / 1000)),
      columnarBytesPerRow: Math.round((columnar.fileSizeInBytes / n) * 10) / 10,
      partitionedCommitRowsPerSec: Math.round(n / (commitMs / 1000)),
      partitionedFiles: Number(snapshot.summary['added-data-files']),
    }
  } finally {
    await close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${JSON.stringify(await benchLakeParquet(Number(process.argv[2] ?? ROWS)), null, 2)}\n`)

import { TributaryError, isTributaryError, messageOf } from '../../errors.ts'
import { quoteString, type LakeDuckDB } from '../duckdb.ts'
import type { DataFile } from '../iceberg/types.ts'
import type { ScanPlan } from './scan.ts'
import { defaultPathOf } from './sql.ts'

/**
 * What a failed DuckDB read of a scan's files means. DuckDB names the file for some damage (no
 * magic bytes, too small, a page that does not decompress) but not for others (a garbled footer:
 * "don't know what type"), and a statement may fail for reasons of its own. So on a failure the
 * files of the scan are read alone, every column of every row (the file DuckDB named first), and
 * the first that fails is TRIB_LAKE_CORRUPT naming its URI, the snapshot and DuckDB's complaint.
 * When each file reads alone, the original error stands. Only on the failure path: a read that
 * succeeds costs nothing more.
 */
export async function damagedFile(e: unknown, location: string, plan: ScanPlan, duckdb: LakeDuckDB, pathOf: (uri: string) => string = defaultPathOf): Promise<unknown> {
  if (isTributaryError(e)) return e
  const text = messageOf(e)
  const files: DataFile[] = [...plan.tasks.map((t) => t.dataFile), ...plan.deleteFiles]
  const named = files.filter((f) => text.includes(pathOf(f.filePath)))
  const conn = await duckdb.connect()
  try {
    for (const file of [...named, ...files.filter((f) => !named.includes(f))]) {
      try {
        await conn.runAndReadAll(`SELECT count(*), max(hash(d)) FROM read_parquet(${quoteString(pathOf(file.filePath))}) AS d`)
      } catch (inner) {
        const kind = file.content === 1 ? 'position delete' : 'data'
        const snapshotId = plan.snapshot?.['snapshot-id']
        return new TributaryError(
          'TRIB_LAKE_CORRUPT',
          `table ${location}: ${kind} file ${file.filePath} (snapshot ${snapshotId} refers to it) is not readable Parquet: ${complaint(inner)}`,
          { cause: e, details: { location, file: file.filePath, snapshotId } },
        )
      }
    }
  } finally {
    conn.closeSync()
  }
  return e
}

/** DuckDB's first line, without the raw bytes it sometimes quotes (control characters). */
const complaint = (e: unknown): string => messageOf(e).split('\n')[0]!.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()

import { TributaryError } from '../../errors.ts'
import { currentSchema } from '../iceberg/metadata.ts'
import { UNPARTITIONED, partitionPath, specById, tupleKey } from '../iceberg/partition.ts'
import { writeParquetFiles } from './parquet.ts'
import type { LakeResources } from '../resources.ts'
import type { LakeStorage } from '../storage.ts'
import { POSITION_DELETE_SCHEMA } from '../iceberg/schema-types.ts'
import type { DataFile, LiveFile, TableMetadata } from '../iceberg/types.ts'

/**
 * Position delete files (spec: "Position Delete Files"): rows (file_path, pos) with the reserved
 * field ids, sorted by path then position, one file per partition of the data files they point at
 * (a delete file applies within its own partition). The cost of an upsert is the change, not the
 * table: only the positions are written.
 */

export interface DeletePosition {
  /** The data file's path exactly as the manifest has it (an absolute URI). */
  path: string
  /** 0-based row position in that file. */
  pos: number
}

export async function writePositionDeletes(
  lake: LakeResources,
  storage: LakeStorage,
  md: TableMetadata,
  liveData: LiveFile[],
  positions: readonly DeletePosition[],
): Promise<{ file: DataFile; specId: number }[]> {
  if (positions.length === 0) return []
  const byPath = new Map(liveData.map((f) => [f.dataFile.filePath, f]))
  const groups = new Map<string, { live: LiveFile; rows: { file_path: string; pos: number }[] }>()
  for (const { path, pos } of positions) {
    const live = byPath.get(path)
    if (!live) throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `position delete for ${path}: not a live data file of the table ${md.location}`, { details: { path } })
    if (!Number.isSafeInteger(pos) || pos < 0 || pos >= live.dataFile.recordCount) {
      throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `position delete for ${path}: position ${pos} is outside the file's ${live.dataFile.recordCount} rows`, { details: { path, pos } })
    }
    const key = `${live.specId}|${tupleKey(live.dataFile.partition)}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { live, rows: [] }))
    g.rows.push({ file_path: path, pos })
  }
  const schema = currentSchema(md)
  const out: { file: DataFile; specId: number }[] = []
  for (const { live, rows } of groups.values()) {
    rows.sort((a, b) => (a.file_path < b.file_path ? -1 : a.file_path > b.file_path ? 1 : a.pos - b.pos))
    const unique = rows.filter((r, i) => i === 0 || r.file_path !== (rows[i - 1] as typeof r).file_path || r.pos !== (rows[i - 1] as typeof r).pos)
    const spec = specById(md['partition-specs'], live.specId)
    const dir = ['data', partitionPath(spec, schema, live.dataFile.partition)].filter(Boolean).join('/')
    const [file] = await writeParquetFiles(lake, storage, { schema: POSITION_DELETE_SCHEMA, spec: UNPARTITIONED, rows: unique, dir, content: 1, fullStringBounds: true, table: md.location })
    if (file) out.push({ file: { ...file, partition: live.dataFile.partition }, specId: live.specId })
  }
  return out
}

import { TributaryError } from '../errors.ts'
import { LakeDuckDB } from './duckdb.ts'
import { LakeCache } from './read/cache.ts'
import type { StorageProvider } from './storage.ts'

/**
 * What one runtime's lake works with: storage by URI scheme (with that runtime's S3 settings), an
 * in-memory DuckDB (Parquet writing, audits, key index, rewrites) and the read-through cache of
 * remote files. Created when the runtime opens, handed to its catalog and through it to every
 * table, released by `close` (Runtime.close). Nothing here is global: two runtimes in one
 * process have two of each.
 */
export interface LakeResources {
  readonly storage: StorageProvider
  readonly duckdb: LakeDuckDB
  readonly cache: LakeCache
  /** Throws TRIB_LAKE_CLOSED once `close` has begun: what writes without DuckDB (the flat writer) asks first. */
  assertOpen(): void
  close(): Promise<void>
}

export function lakeResources(options: { storage: StorageProvider; cacheDir: string }): LakeResources {
  const duckdb = new LakeDuckDB()
  let closed = false
  return {
    storage: options.storage,
    duckdb,
    cache: new LakeCache(options.cacheDir),
    assertOpen() {
      if (closed) throw new TributaryError('TRIB_LAKE_CLOSED', "the lake's resources are released (its runtime was closed)")
    },
    async close() {
      closed = true
      await duckdb.close()
      await options.storage.close()
    },
  }
}

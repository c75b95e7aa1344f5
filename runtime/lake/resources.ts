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
  close(): Promise<void>
}

export function lakeResources(options: { storage: StorageProvider; cacheDir: string }): LakeResources {
  const duckdb = new LakeDuckDB()
  return {
    storage: options.storage,
    duckdb,
    cache: new LakeCache(options.cacheDir),
    async close() {
      await duckdb.close()
      await options.storage.close()
    },
  }
}

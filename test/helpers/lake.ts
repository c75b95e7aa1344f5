import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openStorageProvider } from '../../connectors/storage/index.ts'
import type { S3StorageOptions } from '../../connectors/storage/s3/index.ts'
import type { Catalog } from '../../runtime/lake/catalog/catalog.ts'
import { openFileCatalog } from '../../runtime/lake/catalog/file.ts'
import { lakeResources, type LakeResources } from '../../runtime/lake/resources.ts'
import type { TableOptions } from '../../runtime/lake/table.ts'

export interface TestLake {
  catalog: Catalog
  lake: LakeResources
  /** Closes the catalog and the resources, and removes the cache folder. */
  close(): Promise<void>
}

/**
 * A lake outside any runtime, as tests and benchmarks use it: its own resources (file and S3
 * storage with the given S3 options, DuckDB, a temporary read-through cache) and a file catalog
 * rooted at `uri`.
 */
export async function openTestLake(uri: string, options: { s3?: S3StorageOptions; table?: TableOptions } = {}): Promise<TestLake> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-cache-'))
  const lake = lakeResources({ storage: openStorageProvider(options.s3 ? { s3: options.s3 } : {}), cacheDir })
  try {
    const catalog = await openFileCatalog(uri, lake, options.table)
    return {
      catalog,
      lake,
      async close() {
        await catalog.close()
        await lake.close()
        fs.rmSync(cacheDir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await lake.close()
    fs.rmSync(cacheDir, { recursive: true, force: true })
    throw e
  }
}

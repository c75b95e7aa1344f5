import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openRestCatalogConnection, type RestCatalogConnection } from '../../connectors/catalog/rest/index.ts'
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
  return openLakeWith((lake) => openFileCatalog(uri, lake, options.table), options)
}

/** The same, with the tables found through an Iceberg REST catalog (connectors/catalog/rest). */
export async function openRestTestLake(connection: RestCatalogConnection, options: { s3?: S3StorageOptions; table?: TableOptions } = {}): Promise<TestLake> {
  return openLakeWith((lake) => openRestCatalogConnection(connection, lake, options.table), options)
}

async function openLakeWith(open: (lake: LakeResources) => Promise<Catalog>, options: { s3?: S3StorageOptions }): Promise<TestLake> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-lake-cache-'))
  const lake = lakeResources({ storage: openStorageProvider(options.s3 ? { s3: options.s3 } : {}), cacheDir })
  try {
    const catalog = await open(lake)
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

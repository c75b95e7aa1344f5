import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { openEmbeddedLog } from '../connectors/embedded-log/index.ts'
import { openEmbeddedRegistry } from '../connectors/registry/embedded/index.ts'
import type { Config } from './config/schema.ts'
import type { Log } from './log/log.ts'
import type { SchemaRegistry } from './registry/registry.ts'
import { createSerde, type Serde } from './codec/avro/serde.ts'
import { SchemaCatalog } from './spec/schemas.ts'
import { moduleLogger } from './logger.ts'
import { openStorageProvider } from '../connectors/storage/index.ts'
import type { Catalog } from './lake/catalog/catalog.ts'
import { openFileCatalog } from './lake/catalog/file.ts'
import { lakeResources, type LakeResources } from './lake/resources.ts'

/** The backends a process works with, chosen by configuration. Product code never sees which. */
export interface Runtime {
  readonly config: Config
  readonly log: Log
  readonly registry: SchemaRegistry
  readonly serde: Serde
  readonly stateDir: string
  /**
   * The Iceberg catalog of the lake's tables (`lake.catalog`): table `<product>.<port>` is
   * namespace [product], name port. It owns nothing global: the lake's storage clients, DuckDB
   * and read-through cache belong to this runtime and are released by `close`.
   */
  readonly catalog: Catalog
  close(): Promise<void>
}

/**
 * Opens the backends the configuration names: the log (embedded segment files or Kafka), the
 * schema registry (embedded or a Confluent-compatible server) and the lake (its catalog over
 * file:// or s3:// storage). Adapters load only when chosen, so an embedded run never touches the
 * Kafka client or the AWS SDK.
 */
export async function openRuntime(config: Config): Promise<Runtime> {
  const dataDir = path.resolve(config.dataDir)
  fs.mkdirSync(dataDir, { recursive: true })
  const log = await openLog(config, dataDir)
  let registry: SchemaRegistry | undefined
  // DuckDB reads remote tables through local copies of their immutable files (<dataDir>/lake-cache).
  const lake = lakeResources({ storage: openStorageProvider({ s3: config.lake.s3 }), cacheDir: path.join(dataDir, 'lake-cache') })
  let catalog: Catalog | undefined
  try {
    registry = await openRegistry(config, dataDir)
    // Fails now, not at the first commit, when the bucket is missing, the credentials are wrong or
    // the server is down (retriable: `serve` retries and reports not-ready meanwhile).
    catalog = await openCatalog(config, dataDir, lake)
  } catch (e) {
    await log.close()
    await registry?.close()
    await lake.close()
    throw e
  }
  const serde = createSerde(registry)
  return {
    config,
    log,
    registry,
    serde,
    stateDir: path.join(dataDir, 'state'),
    catalog,
    async close() {
      await log.close()
      await registry.close()
      await catalog.close()
      await lake.close()
    },
  }
}

async function openCatalog(config: Config, dataDir: string, lake: LakeResources): Promise<Catalog> {
  const uri = config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href
  return openFileCatalog(uri, lake)
}

async function openLog(config: Config, dataDir: string): Promise<Log> {
  const t = config.transport
  if (t.kind === 'kafka') {
    const { openKafkaLog } = await import('../connectors/kafka/index.ts')
    return openKafkaLog({ kafka: t.kafka, defaultPartitions: t.defaultPartitions })
  }
  return openEmbeddedLog({ dir: path.join(dataDir, 'log'), fsync: t.fsync, defaultPartitions: t.defaultPartitions })
}

async function openRegistry(config: Config, dataDir: string): Promise<SchemaRegistry> {
  if (config.registry.kind === 'confluent') {
    const { openConfluentRegistry } = await import('../connectors/registry/confluent/index.ts')
    return openConfluentRegistry(config.registry)
  }
  return openEmbeddedRegistry({ dir: path.join(dataDir, 'registry') })
}

/**
 * Registers every schema file under its full name (Confluent's RecordNameStrategy subject), so the
 * registry knows the mesh's vocabulary before any record flows. Topic subjects (`<topic>-value`)
 * are registered by the products that write them.
 */
export async function registerSchemaFiles(registry: SchemaRegistry, dirs: readonly string[]): Promise<number> {
  const files = new SchemaCatalog(dirs).all()
  for (const f of files) await registry.register(f.fullName, f.schema)
  moduleLogger('registry').debug({ count: files.length }, 'schema files registered')
  return files.length
}

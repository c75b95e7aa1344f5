import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { openEmbeddedLog } from '../connectors/embedded-log/index.ts'
import { openEmbeddedRegistry } from '../connectors/registry/embedded/registry.ts'
import type { Config } from './config/schema.ts'
import type { Log } from './log/log.ts'
import type { SchemaRegistry } from './registry/registry.ts'
import { createSerde, type Serde } from './codec/avro/serde.ts'
import { SchemaCatalog } from './spec/schemas.ts'
import { moduleLogger } from './logger.ts'
import { TributaryError } from './errors.ts'
import type { Catalog } from './lake/catalog/catalog.ts'
import { schemeOf } from './lake/storage.ts'

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
  const catalog = lazyCatalog(config, dataDir)
  try {
    registry = await openRegistry(config, dataDir)
    // Fails now, not at the first commit, when the bucket is missing, the credentials are wrong or
    // the server is down (retriable: `serve` retries and reports not-ready meanwhile).
    if (schemeOf(catalog.uri) !== 'file') await catalog.listNamespaces()
  } catch (e) {
    await log.close()
    await registry?.close()
    await catalog.close()
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
    },
  }
}

/**
 * The lake's catalog, with the resources it owns (storage clients, DuckDB, the read-through cache
 * of remote files in <dataDir>/lake-cache), opened on first use: commands that never touch the
 * lake (topics, tail, produce, versions…) do not load it, and DuckDB's native module and the
 * Iceberg code were most of their start-up. `close` releases them if they were opened.
 */
function lazyCatalog(config: Config, dataDir: string): Catalog {
  const uri = config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href
  let opened: Promise<{ catalog: Catalog; close(): Promise<void> }> | undefined
  let closed = false
  const open = () => {
    if (closed) throw new TributaryError('TRIB_LAKE_CLOSED', `lake ${uri}: the lake of this runtime is closed`, { details: { uri } })
    return (opened ??= (async () => {
      const [{ openStorageProvider }, { lakeResources }, { openFileCatalog }] = await Promise.all([
        import('../connectors/storage/index.ts'),
        import('./lake/resources.ts'),
        import('./lake/catalog/file.ts'),
      ])
      const lake = lakeResources({ storage: openStorageProvider({ s3: config.lake.s3 }), cacheDir: path.join(dataDir, 'lake-cache') })
      try {
        const catalog = await openFileCatalog(uri, lake)
        return { catalog, close: async () => (await catalog.close(), await lake.close()) }
      } catch (e) {
        await lake.close()
        opened = undefined
        throw e
      }
    })())
  }
  return {
    uri,
    listNamespaces: async () => (await open()).catalog.listNamespaces(),
    listTables: async (namespace) => (await open()).catalog.listTables(namespace),
    tableExists: async (id) => (await open()).catalog.tableExists(id),
    loadTable: async (id) => (await open()).catalog.loadTable(id),
    createTable: async (id, request) => (await open()).catalog.createTable(id, request),
    async close() {
      closed = true
      await (await opened?.catch(() => undefined))?.close()
    },
  }
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

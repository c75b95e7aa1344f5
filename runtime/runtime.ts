import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { openEmbeddedLog } from '../connectors/embedded-log/index.ts'
import { openEmbeddedRegistry } from '../connectors/registry/embedded/index.ts'
import type { Config } from './config/schema.ts'
import type { Log } from './log/log.ts'
import type { SchemaRegistry } from './registry/registry.ts'
import { createCodec, type Codec } from './codec/index.ts'
import { SchemaCatalog } from './spec/schemas.ts'
import { TributaryError, messageOf } from './errors.ts'
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
  /** Reads and writes records: every format x envelope, over the registry (runtime/codec). */
  readonly codec: Codec
  readonly stateDir: string
  /**
   * The Iceberg catalog of the lake's tables (`lake.catalog`): table `<product>.<port>` is
   * namespace [product], name port. It owns nothing global: the lake's storage clients, DuckDB
   * and read-through cache belong to this runtime and are released by `close`.
   */
  readonly catalog: Catalog
  close(): Promise<void>
}

export interface OpenOptions {
  /**
   * For commands that only read (topics, tail, query, catalog…): the embedded log and registry are
   * opened read-only, so nothing in the data folder is created, locked or repaired.
   */
  readOnly?: boolean
}

/**
 * Opens the backends the configuration names: the log (embedded segment files or Kafka), the
 * schema registry (embedded or a Confluent-compatible server) and the lake (its catalog, the
 * file-system convention or an Iceberg REST catalog, over file:// or s3:// storage). Adapters load only when chosen, so an embedded run never touches the
 * Kafka client or the AWS SDK.
 */
export async function openRuntime(config: Config, options: OpenOptions = {}): Promise<Runtime> {
  const dataDir = path.resolve(config.dataDir)
  const readOnly = options.readOnly ?? false
  checkDataDir(dataDir, readOnly)
  const log = await openLog(config, dataDir, readOnly)
  let registry: SchemaRegistry | undefined
  // DuckDB reads remote tables through local copies of their immutable files (<dataDir>/lake-cache).
  const lake = lakeResources({ storage: openStorageProvider({ s3: config.lake.s3 }), cacheDir: path.join(dataDir, 'lake-cache') })
  let catalog: Catalog | undefined
  try {
    registry = await openRegistry(config, dataDir, readOnly)
    // Fails now, not at the first commit, when the bucket is missing, the credentials are wrong or
    // the server is down (retriable: `serve` retries and reports not-ready meanwhile).
    catalog = await openCatalog(config, dataDir, lake)
  } catch (e) {
    await log.close()
    await registry?.close()
    await lake.close()
    throw e
  }
  const codec = createCodec(registry, { fastPaths: config.codec.fastPaths === 'on' })
  return {
    config,
    log,
    registry,
    codec,
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

/**
 * The data folder must be a folder this process can write (or, read-only, one it can read, or
 * none yet). Checked once, up front, with a clear error: Node's recursive mkdir never returns on
 * some paths (/proc/…), so the folder is made one level at a time.
 */
function checkDataDir(dataDir: string, readOnly: boolean): void {
  const refuse = (why: string, cause?: unknown): never => {
    throw new TributaryError('TRIB_CONFIG_INVALID', `config dataDir: ${dataDir} ${why}`, { cause, details: { path: 'dataDir', dir: dataDir } })
  }
  const missing: string[] = []
  let dir = dataDir
  for (;;) {
    let stat: fs.Stats
    try {
      stat = fs.statSync(dir)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') refuse(`cannot be used (${messageOf(e)})`, e)
      missing.push(dir)
      dir = path.dirname(dir)
      continue
    }
    if (!stat.isDirectory()) refuse(dir === dataDir ? 'is not a folder' : `cannot be created: ${dir} is not a folder`)
    break
  }
  if (readOnly) {
    if (missing.length === 0) {
      try {
        fs.accessSync(dataDir, fs.constants.R_OK | fs.constants.X_OK)
      } catch (e) {
        refuse(`cannot be read (${messageOf(e)})`, e)
      }
    }
    return
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') refuse(`cannot be created (${messageOf(e)})`, e)
    }
  }
  try {
    fs.accessSync(dataDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK)
  } catch (e) {
    refuse(`is not writable (${messageOf(e)})`, e)
  }
}

async function openCatalog(config: Config, dataDir: string, lake: LakeResources): Promise<Catalog> {
  const c = config.lake.catalog
  if (c.kind === 'rest') {
    const { openRestCatalogConnection } = await import('../connectors/catalog/rest/index.ts')
    return openRestCatalogConnection(
      {
        uri: c.uri,
        warehouse: c.warehouse,
        credential: c.credential?.reveal('lake.catalog.credential'),
        token: c.token?.reveal('lake.catalog.token'),
        scope: c.scope,
        oauth2ServerUri: c.oauth2ServerUri,
        retries: c.retries,
      },
      lake,
    )
  }
  const uri = config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href
  return openFileCatalog(uri, lake)
}

async function openLog(config: Config, dataDir: string, readOnly: boolean): Promise<Log> {
  const t = config.transport
  if (t.kind === 'kafka') {
    const { openKafkaLog } = await import('../connectors/kafka/index.ts')
    return openKafkaLog({ kafka: t.kafka, defaultPartitions: t.defaultPartitions })
  }
  return openEmbeddedLog({ dir: path.join(dataDir, 'log'), fsync: t.fsync, defaultPartitions: t.defaultPartitions, readOnly })
}

async function openRegistry(config: Config, dataDir: string, readOnly: boolean): Promise<SchemaRegistry> {
  if (config.registry.kind === 'confluent') {
    const { openConfluentRegistry } = await import('../connectors/registry/confluent/index.ts')
    return openConfluentRegistry(config.registry)
  }
  return openEmbeddedRegistry({ dir: path.join(dataDir, 'registry'), readOnly })
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

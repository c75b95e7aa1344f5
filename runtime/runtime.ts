import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { openEmbeddedLog } from '../connectors/embedded-log/index.ts'
import { openEmbeddedRegistry } from '../connectors/registry/embedded/registry.ts'
import type { Config } from './config/schema.ts'
import type { Log } from './log/log.ts'
import type { SchemaRegistry } from './registry/registry.ts'
import { createCodec, type Codec } from './codec/index.ts'
import { SchemaCatalog } from './spec/schemas.ts'
import { TributaryError, messageOf } from './errors.ts'
import { moduleLogger } from './logger.ts'
import type { Catalog } from './lake/catalog/catalog.ts'
import type { LakeResources } from './lake/resources.ts'
import { schemeOf } from './lake/storage.ts'

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
 * file-system convention or an Iceberg REST catalog, over file:// or s3:// storage). Adapters load
 * only when chosen, so an embedded run never touches the Kafka client or the AWS SDK.
 */
export async function openRuntime(config: Config, options: OpenOptions = {}): Promise<Runtime> {
  const dataDir = path.resolve(config.dataDir)
  const readOnly = options.readOnly ?? false
  checkDataDir(dataDir, readOnly)
  const log = await openLog(config, dataDir, readOnly)
  let registry: SchemaRegistry | undefined
  const catalog = lazyCatalog(config, dataDir)
  try {
    registry = await openRegistry(config, dataDir, readOnly)
    // Fails now, not at the first commit, when the bucket is missing, the credentials are wrong or
    // the server is down (retriable: `serve` retries and reports not-ready meanwhile).
    if (config.lake.catalog.kind === 'rest' || schemeOf(catalog.uri) !== 'file') await catalog.listNamespaces()
  } catch (e) {
    await log.close()
    await registry?.close()
    await catalog.close()
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

/**
 * The lake's catalog, with the resources it owns (storage clients, DuckDB, the read-through cache
 * of remote files in <dataDir>/lake-cache), opened on first use: commands that never touch the
 * lake (topics, tail, produce, versions…) do not load it, and DuckDB's native module and the
 * Iceberg code were most of their start-up. `close` releases them if they were opened.
 */
function lazyCatalog(config: Config, dataDir: string): Catalog {
  const c = config.lake.catalog
  const uri = c.kind === 'rest' ? c.uri : (config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href)
  let opened: Promise<{ catalog: Catalog; close(): Promise<void> }> | undefined
  let closed = false
  const open = () => {
    if (closed) throw new TributaryError('TRIB_LAKE_CLOSED', `lake ${uri}: the lake of this runtime is closed`, { details: { uri } })
    return (opened ??= (async () => {
      const [{ openStorageProvider }, { lakeResources }] = await Promise.all([import('../connectors/storage/index.ts'), import('./lake/resources.ts')])
      const lake = lakeResources({ storage: openStorageProvider({ s3: config.lake.s3 }), cacheDir: path.join(dataDir, 'lake-cache') })
      try {
        const catalog = await openCatalog(config, uri, lake)
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

/** The file-system convention over the lake URI, or an Iceberg REST catalog (lake.catalog kind rest). */
async function openCatalog(config: Config, uri: string, lake: LakeResources): Promise<Catalog> {
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
  const { openFileCatalog } = await import('./lake/catalog/file.ts')
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

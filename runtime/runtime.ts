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
import { moduleLogger } from './logger.ts'
import { configureLakeCache, openStorage, schemeOf } from './lake/index.ts'

/** The backends a process works with, chosen by configuration. Product code never sees which. */
export interface Runtime {
  readonly config: Config
  readonly log: Log
  readonly registry: SchemaRegistry
  /** Reads and writes records: every format x envelope, over the registry (runtime/codec). */
  readonly codec: Codec
  readonly stateDir: string
  /** Root URI of the lake: `<lake>/<product>/<port>` is one Iceberg table. */
  readonly lakeUri: string
  close(): Promise<void>
}

/**
 * Opens the backends the configuration names: the log (embedded segment files or Kafka), the
 * schema registry (embedded or a Confluent-compatible server) and the lake's storage (file:// or
 * s3://). Adapters load only when chosen, so an embedded run never touches the Kafka client.
 */
export async function openRuntime(config: Config): Promise<Runtime> {
  const dataDir = path.resolve(config.dataDir)
  fs.mkdirSync(dataDir, { recursive: true })
  const lakeUri = config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href
  const log = await openLog(config, dataDir)
  let registry: SchemaRegistry | undefined
  try {
    registry = await openRegistry(config, dataDir)
    if (schemeOf(lakeUri) === 's3') {
      const { registerS3Storage } = await import('../connectors/storage/s3/index.ts')
      registerS3Storage(config.lake.s3)
      // DuckDB reads remote tables through local copies of their immutable files.
      configureLakeCache({ dir: path.join(dataDir, 'lake-cache') })
      // Fails now, not at the first commit, when the bucket is missing, the credentials are wrong
      // or the server is down (retriable: `serve` retries and reports not-ready meanwhile).
      await openStorage(lakeUri)
    }
  } catch (e) {
    await log.close()
    await registry?.close()
    throw e
  }
  const codec = createCodec(registry, { fastPaths: config.codec.fastPaths === 'on' })
  return {
    config,
    log,
    registry,
    codec,
    stateDir: path.join(dataDir, 'state'),
    lakeUri,
    async close() {
      await log.close()
      await registry.close()
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

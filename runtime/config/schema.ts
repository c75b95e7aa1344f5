import { z } from 'zod'

/**
 * The runtime configuration: which backends, where state lives, how to log. Product behaviour is
 * in product.yaml; this is about the machine it runs on. Validated once at start, then frozen.
 */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const embeddedTransport = z.strictObject({
  kind: z.literal('embedded'),
  fsync: z.enum(['never', 'always']).default('never').describe("'always' survives power loss; 'never' survives process crashes"),
  defaultPartitions: z.number().int().min(1).max(1024).default(3),
})

const embeddedRegistry = z.strictObject({ kind: z.literal('embedded') })

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('.tributary').describe('local state: embedded log, registry, stores, lake'),
  logLevel: z.enum(logLevels).default('info'),
  products: z.array(z.string().min(1)).default(['products']).describe('product folders, or folders of product folders'),
  schemaDirs: z.array(z.string().min(1)).default([]).describe('extra folders of .avsc files'),
  transport: embeddedTransport.default({ kind: 'embedded', fsync: 'never', defaultPartitions: 3 }),
  registry: embeddedRegistry.default({ kind: 'embedded' }),
  lake: z
    .strictObject({
      uri: z.string().min(1).optional().describe('root of the Iceberg tables; default file://<dataDir>/lake'),
      enabled: z.boolean().default(true).describe('compact output ports with a snapshot block into the lake'),
    })
    .default({ enabled: true }),
  streamThreads: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe("threads per product; each owns a share of the input partitions (Kafka Streams' num.stream.threads)"),
  pii: z
    .strictObject({ salt: z.string().min(8).default('tributary-development-salt').describe('secret salt for hashed PII fields') })
    .default({ salt: 'tributary-development-salt' }),
})

export type Config = z.infer<typeof configSchema>

/**
 * Environment variables and the config path each sets. One table: it drives loading, the README,
 * and the docker-compose check.
 */
export const envVars = {
  TRIBUTARY_DATA_DIR: { path: 'dataDir', type: 'string' },
  TRIBUTARY_LOG_LEVEL: { path: 'logLevel', type: 'string' },
  TRIBUTARY_PRODUCTS: { path: 'products', type: 'list' },
  TRIBUTARY_SCHEMA_DIRS: { path: 'schemaDirs', type: 'list' },
  TRIBUTARY_TRANSPORT: { path: 'transport.kind', type: 'string' },
  TRIBUTARY_LOG_FSYNC: { path: 'transport.fsync', type: 'string' },
  TRIBUTARY_DEFAULT_PARTITIONS: { path: 'transport.defaultPartitions', type: 'number' },
  TRIBUTARY_REGISTRY: { path: 'registry.kind', type: 'string' },
  TRIBUTARY_STREAM_THREADS: { path: 'streamThreads', type: 'number' },
  TRIBUTARY_LAKE_URI: { path: 'lake.uri', type: 'string' },
  TRIBUTARY_LAKE_ENABLED: { path: 'lake.enabled', type: 'boolean' },
  TRIBUTARY_PII_SALT: { path: 'pii.salt', type: 'string', secret: true },
} as const satisfies Record<string, { path: string; type: 'string' | 'number' | 'boolean' | 'list'; secret?: boolean }>

export type EnvVar = keyof typeof envVars

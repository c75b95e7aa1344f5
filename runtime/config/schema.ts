import { z } from 'zod'
import { schemeOf, storageSchemes } from '../lake/storage.ts'
import { accessConfigSchema } from '../access/config.ts'
import { secretSchema } from '../access/secret.ts'

/**
 * The runtime configuration: which backends, where state lives, how to log. Product behaviour is
 * in product.yaml; this is about the machine it runs on. Validated once at start, then frozen.
 * Backends are chosen by `kind`; their options sit beside it, and a kind's required options are
 * checked only when that kind is chosen, so one file can hold both set-ups.
 */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const kafka = z.strictObject({
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'host:port')).default([]).describe('bootstrap brokers, host:port'),
  clientId: z.string().min(1).default('tributary'),
  client: z
    .enum(['kafkajs', 'platformatic'])
    .default('platformatic')
    .describe('the client library under the Kafka adapter: kafkajs, or @platformatic/kafka (see the dependency notes)'),
  ssl: z.boolean().default(false).describe('TLS to the brokers (system CAs)'),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1).describe('secret'),
    })
    .optional(),
  replicationFactor: z.number().int().min(-1).max(32).default(-1).describe('for topics Tributary creates; -1: the broker default'),
  connectionTimeoutMs: z.number().int().positive().default(10_000),
  requestTimeoutMs: z.number().int().positive().default(30_000),
  transactionTimeoutMs: z.number().int().positive().default(60_000),
  sessionTimeoutMs: z.number().int().min(1000).default(30_000).describe("consumer group session timeout (Kafka's session.timeout.ms): how soon a dead instance's partitions move"),
  heartbeatIntervalMs: z.number().int().positive().default(3_000).describe('below a third of sessionTimeoutMs'),
  commitIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(100)
    .describe("a processor's commits are grouped into one commit (exactly-once: one transaction) at most this long (Kafka Streams' commit.interval.ms); outputs become visible to read_committed readers up to this much later; 0 commits every batch"),
  commitMaxRecords: z.number().int().min(1).max(1_000_000).default(10_000).describe('a grouped commit ends once it holds this many output records'),
})

const transport = z
  .strictObject({
    kind: z.enum(['embedded', 'kafka']).default('embedded'),
    fsync: z.enum(['never', 'always']).default('never').describe("embedded: 'always' survives power loss; 'never' survives process crashes"),
    defaultPartitions: z.number().int().min(1).max(1024).default(3),
    kafka: kafka.default(kafka.parse({})),
  })
  .superRefine((t, ctx) => {
    if (t.kind === 'kafka' && t.kafka.brokers.length === 0)
      ctx.addIssue({ code: 'custom', path: ['kafka', 'brokers'], message: 'transport kafka needs at least one broker (host:port)' })
  })

const registry = z
  .strictObject({
    kind: z.enum(['embedded', 'confluent']).default('embedded'),
    url: z.string().url().optional().describe('a Confluent-compatible schema registry'),
    username: z.string().min(1).optional().describe('basic auth user (Confluent Cloud: API key)'),
    password: z.string().min(1).optional().describe('secret'),
    retries: z.number().int().min(0).max(20).default(5),
  })
  .superRefine((r, ctx) => {
    if (r.kind === 'confluent' && !r.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'registry confluent needs a url' })
  })

const s3 = z.strictObject({
  endpoint: z.string().url().optional().describe('an S3-compatible endpoint (MinIO, …); AWS when absent'),
  region: z.string().min(1).default('us-east-1'),
  forcePathStyle: z.boolean().default(false).describe('bucket in the path rather than the host name (MinIO)'),
  requestTimeoutMs: z.number().int().positive().default(60_000).describe('a request whose answer stalls this long fails and is retried'),
})

/**
 * Which Iceberg catalog finds the lake's tables (runtime/lake/catalog/): `file` keeps them at
 * `<lake.uri>/<product>/<port>`; `rest` asks an Iceberg REST catalog (connectors/catalog/rest).
 */
const restCatalog = z.strictObject({
  kind: z.literal('rest'),
  uri: z.string().url().describe('the catalog URI (its /v1/config is below it)'),
  warehouse: z.string().min(1).optional().describe('the warehouse to ask the catalog for'),
  credential: secretSchema(1).optional().describe('OAuth2 client credentials "<client id>:<secret>", exchanged for a bearer token'),
  token: secretSchema(1).optional().describe('a bearer token'),
  scope: z.string().min(1).default('catalog').describe('the OAuth2 scope asked for with credential'),
  oauth2ServerUri: z.string().url().optional().describe('where credential is exchanged; default <uri>/v1/oauth/tokens'),
  retries: z.number().int().min(0).max(20).default(5).describe('retries of reads on network errors, 429 and 502/503/504 (commits are sent once)'),
})
const catalog = z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('file') }), restCatalog])

const lake = z
  .strictObject({
    uri: z
      .string()
      .min(1)
      .refine((uri) => (storageSchemes as readonly string[]).includes(schemeOf(uri)), `a lake URI is file:///path, a path, or s3://bucket/prefix (schemes: ${storageSchemes.join(', ')})`)
      .optional()
      .describe('root of the Iceberg tables: file:///path or s3://bucket/prefix; default file://<dataDir>/lake'),
    catalog: catalog.default({ kind: 'file' }).describe("the Iceberg catalog of the lake's tables: file (tables are folders under lake.uri) or rest (an Iceberg REST catalog)"),
    enabled: z.boolean().default(true).describe('compact output ports with a snapshot block into the lake'),
    s3: s3.default(s3.parse({})),
  })
  .superRefine((l, ctx) => {
    if (l.catalog.kind === 'rest' && l.catalog.credential && l.catalog.token)
      ctx.addIssue({ code: 'custom', path: ['catalog', 'token'], message: 'give credential (OAuth2 client credentials) or token, not both' })
  })

const http = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('0.0.0.0'),
  probePort: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe('a second port answering /healthz and /readyz from a worker thread, fast however busy the container is; point liveness and readiness probes here'),
  livenessStallMs: z.number().int().positive().default(30_000).describe('the probe port fails /healthz once the main event loop has not turned for this long'),
  controlToken: z.string().min(16).optional().describe("secret bearer token of the principal 'control' (group admin): writes, unless access says otherwise"),
  maxBodyBytes: z.number().int().positive().default(65_536),
  maxStreamsPerClient: z.number().int().positive().default(4).describe('concurrent subscriptions per client address'),
  queryMaxRows: z.number().int().positive().default(10_000),
  queryTimeoutMs: z.number().int().positive().default(15_000),
})

const codec = z.strictObject({
  fastPaths: z
    .enum(['on', 'off'])
    .default('on')
    .describe("'off' decodes and encodes every record on the reference paths (the generated Debezium decoder, the generated Avro writer and the lake's columnar decode are proven equal to them)"),
})

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('.tributary').describe('local state: embedded log, registry, stores, lake'),
  logLevel: z.enum(logLevels).default('info'),
  products: z.array(z.string().min(1)).default(['products']).describe('product folders, or folders of product folders'),
  schemaDirs: z.array(z.string().min(1)).default([]).describe('extra folders of .avsc files'),
  transport: transport.default(transport.parse({})),
  registry: registry.default(registry.parse({})),
  lake: lake.default(lake.parse({})),
  http: http.default(http.parse({})),
  codec: codec.default(codec.parse({})),
  access: accessConfigSchema.default(accessConfigSchema.parse({})).describe('principals, their credentials and groups, and who may write (runtime/access)'),
  shutdownDeadlineMs: z.number().int().positive().default(30_000).describe('SIGTERM: time to finish the batch, commit and flush before exiting anyway'),
  heapWatermark: z
    .number()
    .gt(0)
    .max(1)
    .default(0.85)
    .describe('share of the V8 heap limit above which a warning is logged and tributary_heap_watermark_exceeded is 1'),
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
 * and the docker-compose check. S3 credentials are not here: they come from the standard AWS chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles).
 */
export const envVars = {
  TRIBUTARY_DATA_DIR: { path: 'dataDir', type: 'string' },
  TRIBUTARY_LOG_LEVEL: { path: 'logLevel', type: 'string' },
  TRIBUTARY_PRODUCTS: { path: 'products', type: 'list' },
  TRIBUTARY_SCHEMA_DIRS: { path: 'schemaDirs', type: 'list' },
  TRIBUTARY_TRANSPORT: { path: 'transport.kind', type: 'string' },
  TRIBUTARY_LOG_FSYNC: { path: 'transport.fsync', type: 'string' },
  TRIBUTARY_DEFAULT_PARTITIONS: { path: 'transport.defaultPartitions', type: 'number' },
  TRIBUTARY_KAFKA_BROKERS: { path: 'transport.kafka.brokers', type: 'list' },
  TRIBUTARY_KAFKA_CLIENT_ID: { path: 'transport.kafka.clientId', type: 'string' },
  TRIBUTARY_KAFKA_CLIENT: { path: 'transport.kafka.client', type: 'string' },
  TRIBUTARY_KAFKA_SSL: { path: 'transport.kafka.ssl', type: 'boolean' },
  TRIBUTARY_KAFKA_SASL_MECHANISM: { path: 'transport.kafka.sasl.mechanism', type: 'string' },
  TRIBUTARY_KAFKA_SASL_USERNAME: { path: 'transport.kafka.sasl.username', type: 'string' },
  TRIBUTARY_KAFKA_SASL_PASSWORD: { path: 'transport.kafka.sasl.password', type: 'string', secret: true },
  TRIBUTARY_KAFKA_REPLICATION_FACTOR: { path: 'transport.kafka.replicationFactor', type: 'number' },
  TRIBUTARY_KAFKA_SESSION_TIMEOUT_MS: { path: 'transport.kafka.sessionTimeoutMs', type: 'number' },
  TRIBUTARY_REGISTRY: { path: 'registry.kind', type: 'string' },
  TRIBUTARY_REGISTRY_URL: { path: 'registry.url', type: 'string' },
  TRIBUTARY_REGISTRY_USERNAME: { path: 'registry.username', type: 'string' },
  TRIBUTARY_REGISTRY_PASSWORD: { path: 'registry.password', type: 'string', secret: true },
  TRIBUTARY_LAKE_URI: { path: 'lake.uri', type: 'string' },
  TRIBUTARY_LAKE_ENABLED: { path: 'lake.enabled', type: 'boolean' },
  TRIBUTARY_LAKE_CATALOG: { path: 'lake.catalog.kind', type: 'string' },
  TRIBUTARY_LAKE_CATALOG_URI: { path: 'lake.catalog.uri', type: 'string' },
  TRIBUTARY_LAKE_CATALOG_WAREHOUSE: { path: 'lake.catalog.warehouse', type: 'string' },
  TRIBUTARY_LAKE_CATALOG_CREDENTIAL: { path: 'lake.catalog.credential', type: 'string', secret: true },
  TRIBUTARY_LAKE_CATALOG_TOKEN: { path: 'lake.catalog.token', type: 'string', secret: true },
  TRIBUTARY_S3_ENDPOINT: { path: 'lake.s3.endpoint', type: 'string' },
  TRIBUTARY_S3_REGION: { path: 'lake.s3.region', type: 'string' },
  TRIBUTARY_S3_FORCE_PATH_STYLE: { path: 'lake.s3.forcePathStyle', type: 'boolean' },
  TRIBUTARY_HTTP_PORT: { path: 'http.port', type: 'number' },
  TRIBUTARY_HTTP_HOST: { path: 'http.host', type: 'string' },
  TRIBUTARY_HTTP_PROBE_PORT: { path: 'http.probePort', type: 'number' },
  TRIBUTARY_HTTP_CONTROL_TOKEN: { path: 'http.controlToken', type: 'string', secret: true },
  TRIBUTARY_SHUTDOWN_DEADLINE_MS: { path: 'shutdownDeadlineMs', type: 'number' },
  TRIBUTARY_HEAP_WATERMARK: { path: 'heapWatermark', type: 'number' },
  TRIBUTARY_FAST_PATHS: { path: 'codec.fastPaths', type: 'string' },
  TRIBUTARY_STREAM_THREADS: { path: 'streamThreads', type: 'number' },
  TRIBUTARY_PII_SALT: { path: 'pii.salt', type: 'string', secret: true },
} as const satisfies Record<string, { path: string; type: 'string' | 'number' | 'boolean' | 'list'; secret?: boolean }>

export type EnvVar = keyof typeof envVars

/** Config paths whose values are secrets: redacted when printed, never logged. */
export const secretPaths: ReadonlySet<string> = new Set([
  ...Object.values(envVars).filter((v) => 'secret' in v && v.secret).map((v) => v.path as string),
])

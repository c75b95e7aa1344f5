import { z } from 'zod'
import { parseDuration } from '../util/duration.ts'
import { isSemver } from '../lifecycle/versions.ts'
import { audienceSchema } from '../access/principal.ts'

/**
 * The product spec (`product.yaml`). Vocabulary follows the Open Data Product Standard (input,
 * output and management ports) and the Open Data Contract Standard (schema, quality, SLA), so
 * people who know those recognise it. Every object is strict: an unknown key is an error, because
 * a misspelt option silently ignored is worse than a refused spec.
 */

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter')
const topic = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a Kafka topic name: letters, digits, ".", "_" and "-"')
const fieldPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a field name or dotted path')
const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'a duration such as 500ms, 10s, 5m, 2h or 7d')

const evolution = z
  .enum(['none', 'additive'])
  .default('none')

/** Per-record rules checked after the Avro type, before the transform (ODCS-style). */
const fieldRule = z.strictObject({
  required: z.boolean().optional().describe('the field must be present and not null'),
  range: z
    .strictObject({ min: z.number().optional(), max: z.number().optional() })
    .optional()
    .describe('inclusive numeric bounds'),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p)
        return true
      } catch {
        return false
      }
    }, 'a valid regular expression')
    .optional(),
  acceptedValues: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
  maxLength: z.number().int().positive().optional(),
})
export type FieldRule = z.infer<typeof fieldRule>

const contract = z.strictObject({
  fields: z.record(fieldPath, fieldRule).describe('rules per field path'),
})

const inputPort = z.strictObject({
  name,
  description: z.string().optional(),
  topic,
  format: z.enum(['avro', 'json']).default('avro'),
  envelope: z.enum(['none', 'debezium']).default('none'),
  mode: z
    .enum(['stream', 'table'])
    .default('stream')
    .describe('stream: every record goes to the transform; table: latest value per key, read with ctx.lookup'),
  schema: z
    .string()
    .optional()
    .describe("reader schema: an Avro full name from schemas/, or a path to an .avsc file; for debezium, the row's schema"),
  key: fieldPath.optional().describe('table mode: take the key from this value field instead of the message key'),
  contract: contract.optional(),
  evolution: evolution.describe(
    'additive: fields of a newer writer schema (a column added to a CDC source) that the reader schema lacks are read too, as optional fields typed from the writer; anything else a writer changes is refused as before',
  ),
})
export type InputPortSpec = z.infer<typeof inputPort>

const qualityRules = z.strictObject({
  notNull: z.array(fieldPath).optional(),
  unique: z.boolean().optional().describe('the key is unique in the table'),
  acceptedValues: z.record(fieldPath, z.array(z.union([z.string(), z.number(), z.boolean()]))).optional(),
  range: z.record(fieldPath, z.strictObject({ min: z.number().optional(), max: z.number().optional() })).optional(),
  rowCountChange: z
    .strictObject({ maxPercent: z.number().positive() })
    .optional()
    .describe('largest allowed change of the row count against the previous snapshot'),
  freshness: z.strictObject({ field: fieldPath, maxAge: duration }).optional(),
})
export type QualityRules = z.infer<typeof qualityRules>

const snapshot = z.strictObject({
  mode: z.enum(['upsert', 'append']),
  commit: z
    .strictObject({
      interval: duration.default('10s'),
      records: z.number().int().positive().optional(),
    })
    .default({ interval: '10s' }),
  partitionBy: z
    .union([
      z.strictObject({ day: fieldPath }),
      z.strictObject({ hour: fieldPath }),
      z.strictObject({ bucket: z.number().int().min(2).max(1024) }),
    ])
    .optional(),
  quality: qualityRules.optional(),
  retention: z
    .strictObject({ maxAge: duration.optional(), keepLast: z.number().int().positive().optional() })
    .optional(),
  truncate: z
    .enum(['empty', 'ignore'])
    .optional()
    .describe('upsert: what a truncate of the port (a TRUNCATE of the CDC source) does: empty drops every row in one snapshot (default); ignore keeps them, logged and counted'),
})
export type SnapshotSpec = z.infer<typeof snapshot>

export const piiActions = ['mask', 'hash', 'drop'] as const
const policies = z.strictObject({
  pii: z.record(fieldPath, z.enum(piiActions)).default({}),
})
export type PolicySpec = z.infer<typeof policies>

const outputPort = z.strictObject({
  name,
  description: z.string().optional(),
  topic,
  schema: z.string().describe('an Avro full name from schemas/, or a path to an .avsc file'),
  key: z
    .union([fieldPath, z.array(fieldPath).min(1)])
    .optional()
    .describe('value field(s) forming the record key; without it the key is null'),
  partitions: z.number().int().min(1).max(1024).default(3),
  contract: contract.optional(),
  snapshot: snapshot.optional(),
  policies: policies.optional(),
  tags: z.array(z.string()).default([]),
  evolution: evolution.describe(
    'additive: an output carrying fields an input port added (evolution: additive there) evolves the schema: the fields are added as optional, registered as a new version, and the lake table gains the columns',
  ),
})
export type OutputPortSpec = z.infer<typeof outputPort>

/**
 * Who may read each output port (SQL over its table, subscriptions, discovery detail) and what PII
 * each reader sees, and who may change the product's policies. Without a `read` list a port stays
 * open to anyone; `dlq` is the dead-letter table, which holds raw input records.
 */
const portAccess = z.strictObject({
  read: audienceSchema.optional(),
  readerPolicies: z
    .array(z.strictObject({ readers: audienceSchema.min(1), pii: z.record(fieldPath, z.enum(piiActions)) }))
    .min(1)
    .optional()
    .describe('PII applied on the read paths for these readers, on top of the port\'s policies; first match wins, and a reader no entry matches gets the strictest action each field has in any entry'),
})
const access = z.strictObject({
  control: audienceSchema.optional().describe("who may change this product's policies; the runtime's access.control when absent"),
  outputPorts: z.record(name, portAccess).default({}).describe('per output port name, and dlq for the dead-letter table'),
})
export type ProductAccessSpec = z.infer<typeof access>

export const productSpecSchema = z
  .strictObject({
    apiVersion: z.literal('tributary/v1'),
    kind: z.literal('DataProduct'),
    name,
    version: z
      .string()
      .refine(isSemver, 'a semver version, MAJOR.MINOR.PATCH; a new major runs beside the old one (tributary promote)')
      .default('0.1.0'),
    domain: z.string().min(1),
    description: z.string().min(1),
    owner: z.strictObject({ team: z.string().min(1), email: z.string().email().optional() }),
    tags: z.array(z.string()).default([]),
    inputPorts: z.array(inputPort).min(1),
    outputPorts: z.array(outputPort).min(1),
    slos: z
      .strictObject({
        freshness: duration.optional().describe('largest acceptable age of the newest output'),
        validity: z.number().min(0).max(100).optional().describe('smallest acceptable share of valid input records, in percent'),
      })
      .default({}),
    processing: z
      .strictObject({
        guarantee: z
          .enum(['at-least-once', 'exactly-once'])
          .optional()
          .describe('when absent: at-least-once on Kafka (its default); the embedded log commits outputs with offsets atomically either way'),
        batchSize: z.number().int().min(1).max(100_000).default(2000),
        maxRecordBytes: z.number().int().positive().default(1_048_576),
        transformTimeout: duration
          .default('30s')
          .describe('an asynchronous transform call that has not settled by then dead-letters its record (TRIB_TRANSFORM_TIMEOUT); its late result is ignored'),
      })
      .default({ batchSize: 2000, maxRecordBytes: 1_048_576, transformTimeout: '30s' }),
    transform: z.string().default('./transform.ts'),
    access: access.optional(),
  })
  .superRefine((spec, ctx) => {
    const unique = (list: Array<{ name: string }>, at: string) => {
      const seen = new Set<string>()
      list.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [at, i, 'name'], message: `duplicate port name "${p.name}"` })
        seen.add(p.name)
      })
    }
    unique([...spec.inputPorts], 'inputPorts')
    unique([...spec.outputPorts], 'outputPorts')
    spec.inputPorts.forEach((p, i) => {
      if (p.format === 'json' && !p.schema)
        ctx.addIssue({ code: 'custom', path: ['inputPorts', i, 'schema'], message: 'a json port needs a reader schema to validate against' })
      if (p.evolution === 'additive' && !p.schema)
        ctx.addIssue({ code: 'custom', path: ['inputPorts', i, 'evolution'], message: 'additive evolution extends a reader schema: the port needs a schema' })
      if (p.key && p.mode !== 'table')
        ctx.addIssue({ code: 'custom', path: ['inputPorts', i, 'key'], message: 'key applies to table-mode ports only' })
    })
    spec.outputPorts.forEach((p, i) => {
      if (p.snapshot?.mode === 'upsert' && !p.key)
        ctx.addIssue({ code: 'custom', path: ['outputPorts', i, 'key'], message: 'an upsert snapshot needs a key' })
      if (p.name === 'dlq')
        ctx.addIssue({ code: 'custom', path: ['outputPorts', i, 'name'], message: 'the port name "dlq" is reserved for the dead-letter table' })
      if (p.topic === `${spec.name}.dlq`)
        ctx.addIssue({ code: 'custom', path: ['outputPorts', i, 'topic'], message: 'the .dlq topic is reserved for dead letters' })
    })
    for (const [port, a] of Object.entries(spec.access?.outputPorts ?? {})) {
      if (port !== 'dlq' && !spec.outputPorts.some((p) => p.name === port))
        ctx.addIssue({ code: 'custom', path: ['access', 'outputPorts', port], message: `no output port "${port}" (it has ${spec.outputPorts.map((p) => p.name).join(', ')}, and dlq)` })
      if (port === 'dlq' && a.readerPolicies)
        ctx.addIssue({ code: 'custom', path: ['access', 'outputPorts', port, 'readerPolicies'], message: 'the dead-letter table holds raw bytes: restrict who reads it instead' })
    }
    if (spec.access && Object.entries(spec.access.outputPorts).some(([port, a]) => port !== 'dlq' && a.read) && !spec.access.outputPorts.dlq?.read)
      ctx.addIssue({ code: 'custom', path: ['access', 'outputPorts', 'dlq'], message: 'a product that restricts its ports must say who reads its dead letters (dlq: { read: […] }): they hold the raw input records' })
    if (!spec.inputPorts.some((p) => p.mode === 'stream'))
      ctx.addIssue({ code: 'custom', path: ['inputPorts'], message: 'at least one input port must be in stream mode' })
  })

export type ProductSpec = z.infer<typeof productSpecSchema>

/** The JSON Schema editors use for product.yaml (`tributary spec-schema`). */
export const productSpecJsonSchema = (): object => ({
  ...z.toJSONSchema(productSpecSchema, { io: 'input', unrepresentable: 'any' }),
  $id: 'https://tributary.dev/schemas/product.v1.json',
  title: 'Tributary data product spec',
})

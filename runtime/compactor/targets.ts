import type { TableIdentifier } from '../lake/catalog/identifier.ts'
import type { LogRecord } from '../log/log.ts'
import type { OutputPort, Product } from '../product/load.ts'
import type { QualityRules } from '../spec/schema.ts'
import { parseDuration } from '../util/duration.ts'
import { dlqHeaders } from '../log/dead-letters.ts'
import { MAIN_BRANCH } from '../lake/iceberg/types.ts'
import { AUDIT_BRANCH } from './resume.ts'

export { AUDIT_BRANCH }

/**
 * A table the lake keeps for a product: one per output port with `snapshot:` set (its records,
 * materialized by upsert or append), plus the product's dead letters (append).
 */
export interface SnapshotTarget {
  /** `<product>.<port>`; the DLQ table is `<product>.dlq`. */
  readonly name: string
  readonly product: string
  readonly port: string
  readonly topic: string
  /** In the lake's catalog: namespace [product], name port (or `dlq`). */
  readonly identifier: TableIdentifier
  readonly avroSchema: Record<string, unknown>
  readonly mode: 'upsert' | 'append'
  /** What a truncate on the topic does to an upsert table: drop every row (default), or nothing (logged, counted). */
  readonly truncate: 'empty' | 'ignore'
  readonly keyFields: readonly string[]
  /** Iceberg partition transforms, e.g. 'day(played_at)'. */
  readonly partitionBy: readonly string[]
  readonly commitIntervalMs: number
  readonly commitRecords: number | undefined
  readonly quality: QualityRules | undefined
  readonly retention: { maxAgeMs?: number; keepLast?: number } | undefined
  /** How a record becomes a row: Avro values of the port's schema, or a dead letter's parts. */
  readonly kind: 'port' | 'dlq'
  /** The branch commits land on and are audited on; and the one that follows it when they pass. */
  readonly auditBranch: string
  readonly branch: string
}

export const dlqRowSchema = {
  type: 'record',
  name: 'DeadLetter',
  namespace: 'tributary',
  doc: 'A record a product could not process, with why and where it came from.',
  fields: [
    { name: 'dlq_partition', type: 'int' },
    { name: 'dlq_offset', type: 'long' },
    { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'source_topic', type: ['null', 'string'], default: null },
    { name: 'source_partition', type: ['null', 'int'], default: null },
    { name: 'source_offset', type: ['null', 'long'], default: null },
    { name: 'port', type: ['null', 'string'], default: null },
    { name: 'error_code', type: ['null', 'string'], default: null },
    { name: 'error_stage', type: ['null', 'string'], default: null },
    { name: 'error_message', type: ['null', 'string'], default: null },
    { name: 'key', type: ['null', 'bytes'], default: null },
    { name: 'value', type: ['null', 'bytes'], default: null },
  ],
} as const

/**
 * The tables of a product. In a dev environment (lifecycle/environments.ts) they are the product's
 * own tables, on the environment's branches (`env.<name>.audit` → `env.<name>`), not main's.
 */
export function snapshotTargets(product: Product): SnapshotTarget[] {
  const targets = product.outputs.filter((o) => o.spec.snapshot).map((o) => portTarget(product, o))
  targets.push({
    ...where(product, 'dlq'),
    port: 'dlq',
    topic: product.dlqTopic,
    avroSchema: dlqRowSchema as unknown as Record<string, unknown>,
    mode: 'append',
    truncate: 'ignore',
    keyFields: [],
    partitionBy: [],
    commitIntervalMs: 10_000,
    commitRecords: undefined,
    quality: undefined,
    retention: undefined,
    kind: 'dlq',
  })
  return targets
}

/** Name, owner, identifier and branches of a product's table. */
function where(product: Product, port: string): Pick<SnapshotTarget, 'name' | 'product' | 'identifier' | 'auditBranch' | 'branch'> {
  const owner = product.env?.of ?? product.name
  const branch = product.env ? envBranch(product.env.name) : MAIN_BRANCH
  return {
    name: `${owner}.${port}${product.env ? `@${product.env.name}` : ''}`,
    product: owner,
    identifier: { namespace: [owner], name: port },
    branch,
    auditBranch: product.env ? `${branch}.audit` : AUDIT_BRANCH,
  }
}

/** The branch of a dev environment's tables. */
export const envBranch = (env: string): string => `env.${env}`

/** The Iceberg partition transforms of an output port's `snapshot.partitionBy`. */
export function partitionTransforms(port: Pick<OutputPort, 'spec' | 'keyFields'>): string[] {
  const p = port.spec.snapshot?.partitionBy
  return !p ? [] : 'day' in p ? [`day(${p.day})`] : 'hour' in p ? [`hour(${p.hour})`] : [`bucket[${p.bucket}](${port.keyFields[0] ?? ''})`]
}

function portTarget(product: Product, port: OutputPort): SnapshotTarget {
  const snap = port.spec.snapshot!
  const partitionBy = partitionTransforms(port)
  const retention = snap.retention
    ? {
        ...(snap.retention.maxAge ? { maxAgeMs: parseDuration(snap.retention.maxAge)! } : {}),
        ...(snap.retention.keepLast ? { keepLast: snap.retention.keepLast } : {}),
      }
    : undefined
  return {
    ...where(product, port.spec.name),
    port: port.spec.name,
    topic: port.spec.topic,
    avroSchema: port.schema.schema,
    mode: snap.mode,
    truncate: snap.truncate ?? 'empty',
    keyFields: port.keyFields,
    partitionBy,
    commitIntervalMs: parseDuration(snap.commit.interval)!,
    commitRecords: snap.commit.records,
    quality: snap.quality,
    retention,
    kind: 'port',
  }
}

/** A dead letter as a row of the DLQ table. */
export function deadLetterRow(r: LogRecord): Record<string, unknown> {
  const h = (name: string) => r.headers[name]?.toString('utf8') ?? null
  const n = (name: string) => {
    const v = h(name)
    return v === null || v === '' ? null : Number(v)
  }
  return {
    dlq_partition: r.partition,
    dlq_offset: r.offset,
    timestamp: new Date(r.timestamp).toISOString(),
    source_topic: h(dlqHeaders.topic),
    source_partition: n(dlqHeaders.partition),
    source_offset: n(dlqHeaders.offset),
    port: h(dlqHeaders.port),
    error_code: h(dlqHeaders.code),
    error_stage: h(dlqHeaders.stage),
    error_message: h(dlqHeaders.message),
    key: r.key,
    value: r.value,
  }
}

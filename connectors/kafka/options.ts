import type { Config } from '../../runtime/config/schema.ts'
import { TributaryError } from '../../runtime/errors.ts'

export type KafkaConfig = Config['transport']['kafka']

export interface KafkaLogOptions {
  kafka: KafkaConfig
  /** Partitions of topics created without an explicit count (ensureTopic, append to a new topic). */
  defaultPartitions: number
  /** How long openKafkaLog keeps retrying unreachable brokers before giving up. Default 60 s. */
  startTimeoutMs?: number
  /** Tuning, mostly for tests; the defaults suit production. */
  tuning?: Partial<Tuning>
}

/** Knobs that are not part of the runtime configuration (they rarely need changing). */
export interface Tuning {
  /** Broker long-poll of a fetch; also bounds how late a seek, pause or close takes effect. */
  fetchMaxWaitMs: number
  /** Upper bound on one fetch response (all partitions). */
  fetchMaxBytes: number
  fetchMaxBytesPerPartition: number
  /** Batches of different partitions handed to poll at once. */
  partitionsConsumedConcurrently: number
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number
  /** Producer request chunking: kafkajs never splits a batch, the broker rejects one over message.max.bytes. */
  chunkBytes: number
  chunkRecordsPerPartition: number
  /** Retries of one request inside kafkajs before an operation fails (bounded: failures must surface). */
  retries: number
  /** How long to wait for transactional offsets to become readable after a commit. */
  offsetsVisibleTimeoutMs: number
  /** Partition counts of topics are re-read after this long (partitions can be added to a topic). */
  metadataMaxAgeMs: number
  /** Readiness: how often the brokers are asked for metadata (health.ts), and how long an answer may take. */
  healthIntervalMs: number
  healthTimeoutMs: number
}

export interface ResolvedKafkaOptions {
  readonly kafka: Readonly<KafkaConfig>
  readonly defaultPartitions: number
  readonly startTimeoutMs: number
  readonly tuning: Readonly<Tuning>
}

const MB = 1024 * 1024

const defaults: Tuning = {
  fetchMaxWaitMs: 250,
  fetchMaxBytes: 10 * MB,
  fetchMaxBytesPerPartition: MB,
  partitionsConsumedConcurrently: 8,
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 60_000,
  heartbeatIntervalMs: 3_000,
  // Below the broker's default message.max.bytes (1 MiB + 12) with room for batch overhead.
  chunkBytes: 900 * 1024,
  // kafkajs groups a topic's messages per partition with an array spread per message (quadratic).
  chunkRecordsPerPartition: 1000,
  retries: 6,
  offsetsVisibleTimeoutMs: 10_000,
  metadataMaxAgeMs: 30_000,
  healthIntervalMs: 2_000,
  healthTimeoutMs: 5_000,
}

/** Validates once at the edge; everything inward gets a frozen, complete object. */
export function resolveOptions(input: KafkaLogOptions): ResolvedKafkaOptions {
  const brokers = input.kafka?.brokers ?? []
  if (brokers.length === 0) throw new TributaryError('TRIB_CONFIG_INVALID', 'transport.kafka.brokers: at least one broker (host:port) is needed')
  if (!Number.isInteger(input.defaultPartitions) || input.defaultPartitions < 1)
    throw new TributaryError('TRIB_CONFIG_INVALID', `transport.defaultPartitions: ${input.defaultPartitions} is not a positive integer`)
  const k = input.kafka
  // The group timeouts are configuration (transport.kafka); tuning, when given, wins (tests).
  const tuning = { ...defaults, sessionTimeoutMs: k.sessionTimeoutMs ?? defaults.sessionTimeoutMs, heartbeatIntervalMs: k.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs, ...input.tuning }
  if (tuning.heartbeatIntervalMs >= tuning.sessionTimeoutMs)
    throw new TributaryError('TRIB_CONFIG_INVALID', `kafka tuning: heartbeatIntervalMs ${tuning.heartbeatIntervalMs} must be below sessionTimeoutMs ${tuning.sessionTimeoutMs}`)
  return Object.freeze({
    kafka: Object.freeze({ ...input.kafka, brokers: [...brokers] }),
    defaultPartitions: input.defaultPartitions,
    startTimeoutMs: input.startTimeoutMs ?? 60_000,
    tuning: Object.freeze(tuning),
  })
}

/**
 * The upper bound on bytes a consumer fetches at once, from its maxBufferedRecords (records are
 * counted at ~1 KiB: kafkajs bounds fetches in bytes, not records).
 */
export function fetchBytesFor(maxBufferedRecords: number | undefined, tuning: Tuning): { maxBytes: number; maxBytesPerPartition: number } {
  const maxBytes = maxBufferedRecords === undefined ? tuning.fetchMaxBytes : Math.min(tuning.fetchMaxBytes, Math.max(64 * 1024, maxBufferedRecords * 1024))
  return { maxBytes, maxBytesPerPartition: Math.min(tuning.fetchMaxBytesPerPartition, maxBytes) }
}

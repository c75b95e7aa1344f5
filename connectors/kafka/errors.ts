import { TributaryError, type ErrorCode } from '../../runtime/errors.ts'

/** What a kafkajs error carries, as far as we use it (kafkajs errors are plain JS classes). */
interface KafkajsErrorLike {
  name?: string
  message?: string
  type?: string
  code?: number | string
  retriable?: boolean
  cause?: unknown
}

const AUTH_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
])
// PRODUCER_FENCED (90) is newer than kafkajs' table; older request versions answer INVALID_PRODUCER_EPOCH.
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING'])
const FENCED_CODES = new Set([47, 90])
const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'])
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD'])
/**
 * Answers of a broker that has not caught up with the cluster yet: a topic just created whose
 * leader is not elected or not known everywhere, a leader that moved. Asking again helps.
 * kafkajs still names NOT_LEADER_OR_FOLLOWER (code 6) by its old name NOT_LEADER_FOR_PARTITION.
 */
const METADATA_LAG_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REPLICA_NOT_AVAILABLE',
  'UNKNOWN_LEADER_EPOCH',
  'FENCED_LEADER_EPOCH',
  'NOT_CONTROLLER',
])

/** The innermost kafkajs error: retries and non-retriable wrappers keep the real one as `cause`. */
function rootCause(e: unknown): KafkajsErrorLike {
  let cur = e as KafkajsErrorLike
  for (let i = 0; i < 8 && cur && typeof cur === 'object' && cur.cause && typeof cur.cause === 'object'; i++) cur = cur.cause as KafkajsErrorLike
  return cur ?? {}
}

/** Every error of the chain (wrappers first), for checks that any level may answer. */
function chain(e: unknown): KafkajsErrorLike[] {
  const out: KafkajsErrorLike[] = []
  let cur = e as (KafkajsErrorLike & { errors?: unknown[] }) | undefined
  while (cur && typeof cur === 'object' && out.length < 8) {
    out.push(cur)
    // KafkaJSAggregateError (createTopics) holds one error per topic.
    if (Array.isArray(cur.errors)) for (const inner of cur.errors) if (inner && typeof inner === 'object') out.push(inner as KafkajsErrorLike)
    cur = cur.cause as typeof cur
  }
  return out
}

export const hasType = (e: unknown, type: string): boolean => chain(e).some((c) => c.type === type)
export const isFenced = (e: unknown): boolean => chain(e).some((c) => FENCED_TYPES.has(c.type ?? '') || FENCED_CODES.has(Number(c.code)))
export const isRebalance = (e: unknown): boolean => chain(e).some((c) => REBALANCE_TYPES.has(c.type ?? ''))
export const isUnknownTopic = (e: unknown): boolean => hasType(e, 'UNKNOWN_TOPIC_OR_PARTITION')
const isAuth = (e: unknown): boolean => chain(e).some((c) => AUTH_TYPES.has(c.type ?? '') || c.name === 'KafkaJSSASLAuthenticationError')

/** A one-line description of a kafkajs error and its cause. */
export function describe(e: unknown): string {
  const root = rootCause(e)
  const top = e as KafkajsErrorLike
  const inner = root !== top && root.message && root.message !== top.message ? ` (${root.message})` : ''
  return `${top?.message ?? String(e)}${inner}`
}

export interface ClassifyOptions {
  /** The code of errors worth trying again that say nothing more specific (default TRIB_KAFKA_UNAVAILABLE). */
  fallback?: ErrorCode
  /**
   * The operation addresses topics the cluster's metadata already listed (or that it just
   * created): UNKNOWN_TOPIC_OR_PARTITION then means a broker has not caught up with them yet,
   * retriable like a leader not elected, not TRIB_TOPIC_NOT_FOUND.
   */
  topicExists?: boolean
}

/**
 * Maps a kafkajs error to a TributaryError. `what` names the operation and its subject
 * (topic-partition-offset, group…), so the message says what failed and where.
 */
export function toTributaryError(e: unknown, what: string, details: Record<string, unknown> = {}, options: ClassifyOptions = {}): TributaryError {
  if (e instanceof TributaryError) return e
  const code = classify(e, options)
  return new TributaryError(code, `${what}: ${describe(e)}`, { cause: e, details: { ...details, kafkaError: rootCause(e).type ?? rootCause(e).name } })
}

function classify(e: unknown, { fallback = 'TRIB_KAFKA_UNAVAILABLE', topicExists = false }: ClassifyOptions): ErrorCode {
  if (isFenced(e)) return 'TRIB_KAFKA_FENCED'
  if (isAuth(e)) return 'TRIB_KAFKA_AUTH'
  if (isRebalance(e)) return 'TRIB_LOG_REBALANCED'
  const c = chain(e)
  if (c.some((x) => METADATA_LAG_TYPES.has(x.type ?? '') || (topicExists && x.type === 'UNKNOWN_TOPIC_OR_PARTITION'))) return fallback
  if (c.some((x) => x.type === 'UNKNOWN_TOPIC_OR_PARTITION')) return 'TRIB_TOPIC_NOT_FOUND'
  if (c.some((x) => x.type === 'INVALID_TOPIC_EXCEPTION' || x.type === 'INVALID_PARTITIONS' || x.type === 'INVALID_REPLICATION_FACTOR'))
    return 'TRIB_TOPIC_INVALID'
  if (c.some((x) => TOO_LARGE_TYPES.has(x.type ?? ''))) return 'TRIB_RECORD_TOO_LARGE'
  if (c.some((x) => x.type === 'OFFSET_OUT_OF_RANGE')) return 'TRIB_OFFSET_OUT_OF_RANGE'
  // Connection, timeout, leader moves, exhausted retries: all worth trying again later.
  return fallback
}

import { TributaryError, type ErrorCode } from '../../runtime/errors.ts'

/**
 * What the client libraries' errors carry, as far as we use it. Kafka's error name is `type` in
 * kafkajs and `apiId` in @platformatic/kafka; both nest the real error: kafkajs as `cause`,
 * platformatic in `errors` (a failed retry loop, or one error per partition of a response).
 */
interface KafkaErrorLike {
  name?: string
  message?: string
  type?: string
  apiId?: string
  code?: number | string
  retriable?: boolean
  cause?: unknown
  errors?: unknown[]
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

const isObject = (x: unknown): x is KafkaErrorLike => x !== null && typeof x === 'object'

/** The innermost error: the `cause` of wrappers, else the last of the errors a retry loop gathered. */
function rootCause(e: unknown): KafkaErrorLike {
  let cur = isObject(e) ? e : {}
  for (let i = 0; i < 8; i++) {
    const next = isObject(cur.cause) ? cur.cause : Array.isArray(cur.errors) ? cur.errors.findLast(isObject) : undefined
    if (next === undefined) break
    cur = next
  }
  return cur
}

/** Every error of the chain (wrappers first), for checks that any level may answer. */
function chain(e: unknown): KafkaErrorLike[] {
  const out: KafkaErrorLike[] = []
  const visit = (x: unknown, depth: number): void => {
    if (!isObject(x) || depth > 8 || out.length > 64) return
    out.push(x)
    // KafkaJSAggregateError (createTopics) and platformatic's MultipleErrors hold several.
    if (Array.isArray(x.errors)) for (const inner of x.errors) visit(inner, depth + 1)
    visit(x.cause, depth + 1)
  }
  visit(e, 0)
  return out
}

/** Kafka's name of the error (kafkajs `type`, platformatic `apiId`). */
const kafkaName = (c: KafkaErrorLike): string => c.type ?? c.apiId ?? ''

export const hasType = (e: unknown, type: string): boolean => chain(e).some((c) => kafkaName(c) === type)
export const isFenced = (e: unknown): boolean => chain(e).some((c) => FENCED_TYPES.has(kafkaName(c)) || FENCED_CODES.has(Number(c.code)))
export const isRebalance = (e: unknown): boolean => chain(e).some((c) => REBALANCE_TYPES.has(kafkaName(c)))
export const isUnknownTopic = (e: unknown): boolean => hasType(e, 'UNKNOWN_TOPIC_OR_PARTITION')
const isAuth = (e: unknown): boolean =>
  chain(e).some((c) => AUTH_TYPES.has(kafkaName(c)) || c.name === 'KafkaJSSASLAuthenticationError' || c.code === 'PLT_KFK_AUTHENTICATION')

/** A one-line description of a client error and its cause. */
export function describe(e: unknown): string {
  const root = rootCause(e)
  const top = e as KafkaErrorLike
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
 * Maps a client library's error to a TributaryError. `what` names the operation and its subject
 * (topic-partition-offset, group…), so the message says what failed and where.
 */
export function toTributaryError(e: unknown, what: string, details: Record<string, unknown> = {}, options: ClassifyOptions = {}): TributaryError {
  if (e instanceof TributaryError) return e
  const code = classify(e, options)
  const root = rootCause(e)
  return new TributaryError(code, `${what}: ${describe(e)}`, { cause: e, details: { ...details, kafkaError: root.type ?? root.apiId ?? root.name } })
}

function classify(e: unknown, { fallback = 'TRIB_KAFKA_UNAVAILABLE', topicExists = false }: ClassifyOptions): ErrorCode {
  if (isFenced(e)) return 'TRIB_KAFKA_FENCED'
  if (isAuth(e)) return 'TRIB_KAFKA_AUTH'
  if (isRebalance(e)) return 'TRIB_LOG_REBALANCED'
  const names = new Set(chain(e).map(kafkaName))
  if ([...METADATA_LAG_TYPES].some((t) => names.has(t)) || (topicExists && names.has('UNKNOWN_TOPIC_OR_PARTITION'))) return fallback
  if (names.has('UNKNOWN_TOPIC_OR_PARTITION')) return 'TRIB_TOPIC_NOT_FOUND'
  if (names.has('INVALID_TOPIC_EXCEPTION') || names.has('INVALID_PARTITIONS') || names.has('INVALID_REPLICATION_FACTOR')) return 'TRIB_TOPIC_INVALID'
  if ([...TOO_LARGE_TYPES].some((t) => names.has(t))) return 'TRIB_RECORD_TOO_LARGE'
  if (names.has('OFFSET_OUT_OF_RANGE')) return 'TRIB_OFFSET_OUT_OF_RANGE'
  // Connection, timeout, leader moves, exhausted retries: all worth trying again later.
  return fallback
}

import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { toTributaryError } from '../../../connectors/kafka/errors.ts'

// kafkajs' own protocol error objects (type, code, retriable as its error table has them), wrapped
// the way kafkajs' retrier hands them over: bailed out (non-retriable) or retries exhausted.
const protocol = (type: string, code: number): KafkaJSProtocolError => new KafkaJSProtocolError({ type, code, retriable: true, message: `broker said ${type}` } as never)
// (kafkajs' typings omit the options these constructors take)
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error
const bailed = (e: Error): Error => new NonRetriable(e, { cause: e })
const Exhausted = KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, o: { retryCount: number; retryTime: number }) => Error
const exhausted = (e: Error): Error => new Exhausted(e, { retryCount: 5, retryTime: 1000 })

describe('Kafka error mapping', () => {
  it.each([
    ['NOT_LEADER_FOR_PARTITION', 6],
    ['NOT_LEADER_OR_FOLLOWER', 6],
    ['LEADER_NOT_AVAILABLE', 5],
    ['REPLICA_NOT_AVAILABLE', 9],
    ['UNKNOWN_LEADER_EPOCH', 75],
    ['NOT_CONTROLLER', 41],
  ])('a broker catching up (%s) is retriable, also when kafkajs gave up on it', (type, code) => {
    for (const e of [protocol(type, code), bailed(protocol(type, code)), exhausted(protocol(type, code))]) {
      const err = toTributaryError(e, 'reading the offsets of topic t', { topic: 't' })
      expect(err).toMatchObject({ code: 'TRIB_KAFKA_UNAVAILABLE', retriable: true, details: { topic: 't', kafkaError: type } })
      expect(err.message).toContain('reading the offsets of topic t')
      // A transaction keeps its own retriable code (the consumer rewinds on it).
      expect(toTributaryError(e, 'txn', {}, { fallback: 'TRIB_KAFKA_TRANSACTION' }).code).toBe('TRIB_KAFKA_TRANSACTION')
    }
  })

  it('an unknown topic is TRIB_TOPIC_NOT_FOUND, unless the operation addresses a topic the metadata listed or it just created', () => {
    for (const e of [protocol('UNKNOWN_TOPIC_OR_PARTITION', 3), bailed(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3)), exhausted(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3))]) {
      expect(toTributaryError(e, 'x')).toMatchObject({ code: 'TRIB_TOPIC_NOT_FOUND', retriable: false })
      expect(toTributaryError(e, 'creating topic t', {}, { topicExists: true })).toMatchObject({ code: 'TRIB_KAFKA_UNAVAILABLE', retriable: true })
      expect(toTributaryError(e, 'txn', {}, { fallback: 'TRIB_KAFKA_TRANSACTION', topicExists: true })).toMatchObject({ code: 'TRIB_KAFKA_TRANSACTION', retriable: true })
    }
  })

  it('what says more than a lagging broker still wins: fencing, credentials, rebalances, sizes', () => {
    const withLag = (e: Error): Error => Object.assign(e, { cause: protocol('NOT_LEADER_FOR_PARTITION', 6) })
    expect(toTributaryError(withLag(protocol('INVALID_PRODUCER_EPOCH', 47)), 'x').code).toBe('TRIB_KAFKA_FENCED')
    expect(toTributaryError(withLag(protocol('TOPIC_AUTHORIZATION_FAILED', 29)), 'x').code).toBe('TRIB_KAFKA_AUTH')
    expect(toTributaryError(withLag(protocol('REBALANCE_IN_PROGRESS', 27)), 'x').code).toBe('TRIB_LOG_REBALANCED')
    expect(toTributaryError(protocol('MESSAGE_TOO_LARGE', 10), 'x', {}, { topicExists: true }).code).toBe('TRIB_RECORD_TOO_LARGE')
  })
})

import type { Message, Producer, RecordMetadata } from 'kafkajs'
import type { OutgoingRecord, PartitionOffset } from '../../../runtime/log/log.ts'
import type { BaseOffsets, ProducerWire, Transaction, TransactionWire } from '../driver.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import type { Chunk } from '../planner.ts'
import { createClient } from './client.ts'

/** kafkajs' message for a planned record. */
export function kafkajsMessage(r: OutgoingRecord, partition: number, timestamp: number): Message {
  const message: Message = { key: r.key, value: r.value, partition, timestamp: String(timestamp) }
  if (r.headers !== undefined) message.headers = r.headers
  return message
}

/** The producer settings every Tributary producer shares: idempotent, acks all, one request in flight. */
function producerFor(options: ResolvedKafkaOptions, role: string, transactionalId?: string): Producer {
  return createClient(options, role).producer({
    idempotent: true,
    // kafkajs does not reorder sequence numbers after a failed request: more than one in flight breaks idempotence.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Every message carries its partition (Planner); this only silences kafkajs' partitioner warning.
    createPartitioner: () => ({ message }) => message.partition ?? 0,
    // Bounded (~35 s in all with the default tuning.retries), so a lasting outage surfaces as
    // TRIB_KAFKA_UNAVAILABLE instead of a hang. Fine-grained at first (10 ms, growing by 1.2x rather
    // than kafkajs' 2x): a transaction's first request usually meets CONCURRENT_TRANSACTIONS while
    // the previous commit's markers are still being written, and a doubling backoff overshoots
    // their end by hundreds of milliseconds (the Java client retries that case every 20 ms).
    retry: { initialRetryTime: 10, maxRetryTime: 5_000, multiplier: 1.2, retries: options.tuning.retries * 6 },
    ...(transactionalId === undefined ? {} : { transactionalId, transactionTimeout: options.kafka.transactionTimeoutMs }),
  })
}

const baseOffsets = (meta: RecordMetadata[]): BaseOffsets => meta.map((m) => ({ topic: m.topicName, partition: m.partition, offset: Number(m.baseOffset ?? m.offset) }))

export function kafkajsProducer(options: ResolvedKafkaOptions, role: string): ProducerWire<Message> {
  const producer = producerFor(options, role)
  return {
    connect: () => producer.connect(),
    send: async (chunk: Chunk<Message>) => baseOffsets(await producer.sendBatch({ acks: -1, topicMessages: chunk.topicMessages })),
    close: () => producer.disconnect(),
  }
}

/** kafkajs' sendOffsets shape: offsets are strings, grouped by topic. */
function byTopic(offsets: readonly PartitionOffset[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const topics = new Map<string, Array<{ partition: number; offset: string }>>()
  for (const o of offsets) {
    let list = topics.get(o.topic)
    if (list === undefined) topics.set(o.topic, (list = []))
    list.push({ partition: o.partition, offset: String(o.offset) })
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }))
}

export function kafkajsTransactional(options: ResolvedKafkaOptions, transactionalId: string): TransactionWire<Message> {
  const producer = producerFor(options, 'txn', transactionalId)
  return {
    // kafkajs registers the transactional id (InitProducerId) only at the first transaction: begin
    // an empty one now and abort it.
    init: async () => {
      await producer.connect()
      await (await producer.transaction()).abort()
    },
    begin: async (): Promise<Transaction<Message>> => {
      const txn = await producer.transaction()
      return {
        send: async (chunk) => baseOffsets(await txn.sendBatch({ acks: -1, topicMessages: chunk.topicMessages })),
        // kafkajs' TxnOffsetCommit carries no generation or member id (no KIP-447).
        sendOffsets: (consumerGroupId, offsets) => txn.sendOffsets({ consumerGroupId, topics: byTopic(offsets) }),
        commit: () => txn.commit(),
        abort: () => txn.abort(),
        isActive: () => txn.isActive(),
      }
    },
    close: () => producer.disconnect(),
  }
}

import { FindCoordinatorKeyTypes, Producer, type MessageToProduce, type ProduceResult } from '@platformatic/kafka'
import type { OutgoingRecord, PartitionOffset } from '../../../runtime/log/log.ts'
import type { BaseOffsets, GroupMember, ProducerWire, Transaction, TransactionWire } from '../driver.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import type { Chunk } from '../planner.ts'
import { anyBroker, baseOptions, brokerOf, metadata, request } from './client.ts'

/** The library's message for a planned record; header names go as bytes (the library writes what it is given). */
export function platformaticMessage(r: OutgoingRecord, partition: number, timestamp: number): MessageToProduce {
  const message: MessageToProduce = { topic: r.topic, partition, timestamp: BigInt(timestamp) }
  if (r.key !== null) message.key = r.key
  // A tombstone: the library writes a missing value as null.
  if (r.value !== null) message.value = r.value
  if (r.headers !== undefined) {
    const headers = new Map<Buffer, Buffer>()
    for (const name in r.headers) headers.set(Buffer.from(name), r.headers[name]!)
    message.headers = headers
  }
  return message
}

/**
 * The settings every producer shares: idempotent (acks all, one request in flight), bounded
 * retries, and InitProducerId without a prior id (-1): the library otherwise sends id 0, epoch 0,
 * which the coordinator takes for a stale holder of a transactional id that exists and answers
 * PRODUCER_FENCED, so an instance could never take over its predecessor's id.
 */
function producerFor(options: ResolvedKafkaOptions, role: string, transactionalId?: string): Producer {
  const base = baseOptions(options, role, options.tuning.retries * 6)
  return new Producer({
    ...base,
    idempotent: true,
    acks: -1,
    producerId: -1n,
    producerEpoch: -1,
    // The library sends its request timeout as the transaction timeout too (InitProducerId).
    ...(transactionalId === undefined ? {} : { transactionalId, timeout: options.kafka.transactionTimeoutMs }),
  })
}

/** The library's transaction (its class is not exported by name). */
type PltTransaction = Awaited<ReturnType<Producer['beginTransaction']>>

function flatten(chunk: Chunk<MessageToProduce>): MessageToProduce[] {
  const t = chunk.topicMessages
  return t.length === 1 ? t[0]!.messages : t.flatMap((x) => x.messages)
}

function baseOffsets(result: ProduceResult): BaseOffsets {
  return (result.offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) }))
}

export function platformaticProducer(options: ResolvedKafkaOptions, role: string): ProducerWire<MessageToProduce> {
  const producer = producerFor(options, role)
  return {
    // The library connects on the first request.
    connect: async () => void (await metadata(producer, [], true)),
    send: async (chunk) => baseOffsets(await producer.send({ messages: flatten(chunk) })),
    close: () => producer.close(),
  }
}

export function platformaticTransactional(options: ResolvedKafkaOptions, transactionalId: string): TransactionWire<MessageToProduce> {
  const producer = producerFor(options, 'txn', transactionalId)
  const coordinators = new Map<string, Promise<number>>()
  /** The group coordinator, for TxnOffsetCommit. */
  const coordinator = (group: string): Promise<number> => {
    let found = coordinators.get(group)
    if (found === undefined) {
      found = metadata(producer, [])
        .then((meta) => request<{ coordinators: Array<{ nodeId: number }> }>(producer, 'FindCoordinator', anyBroker(meta), [FindCoordinatorKeyTypes.GROUP, [group]]))
        .then((r) => r.coordinators[0]!.nodeId)
      found.catch(() => coordinators.delete(group))
      coordinators.set(group, found)
    }
    return found
  }

  async function commitOffsets(group: string, offsets: readonly PartitionOffset[], member: GroupMember | undefined): Promise<void> {
    const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, (list = []))
      list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: null })
    }
    const node = await coordinator(group)
    const meta = await metadata(producer, [])
    try {
      // One request for every partition (the library's addOffset sends one per partition).
      const partitions = [...topics].map(([name, partitions]) => ({ name, partitions }))
      await request(producer, 'TxnOffsetCommit', brokerOf(meta, node), [
        transactionalId,
        group,
        producer.producerId,
        producer.producerEpoch,
        member?.generationId ?? -1,
        member?.memberId ?? '',
        null,
        partitions,
      ])
    } catch (e) {
      coordinators.delete(group)
      throw e
    }
  }

  return {
    // beginTransaction registers the id (InitProducerId) on first use; nothing is sent until
    // the transaction's first record, so cancelling it ends it without a request.
    init: async () => {
      const txn = await producer.beginTransaction()
      await txn.cancel()
    },
    begin: async (): Promise<Transaction<MessageToProduce>> => {
      const txn: PltTransaction = await producer.beginTransaction()
      let added = false
      return {
        send: async (chunk) => baseOffsets(await txn.send({ messages: flatten(chunk) })),
        sendOffsets: async (group, offsets, member) => {
          // AddOffsetsToTxn needs only the group id of the library's consumer.
          if (!added) await txn.addConsumer({ groupId: group } as Parameters<PltTransaction['addConsumer']>[0])
          added = true
          await commitOffsets(group, offsets, member)
        },
        commit: () => txn.commit(),
        abort: () => txn.abort(),
        isActive: () => !txn.completed,
      }
    },
    close: () => producer.close(),
  }
}

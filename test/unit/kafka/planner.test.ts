import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../../connectors/kafka/options.ts'
import { kafkajsMessage } from '../../../connectors/kafka/kafkajs/producer.ts'
import { Planner, sendChunks, type Chunk } from '../../../connectors/kafka/planner.ts'
import { configSchema } from '../../../runtime/config/schema.ts'
import type { OutgoingRecord } from '../../../runtime/log/log.ts'
import { partitionForKey } from '../../../runtime/log/partitioner.ts'

const kafka = configSchema.parse({ transport: { kafka: { brokers: ['127.0.0.1:1'] } } }).transport.kafka
const options = (tuning = {}) => resolveOptions({ kafka, defaultPartitions: 1, tuning })
const counts = async (topic: string): Promise<number> => (topic === 'six' ? 6 : 1)

describe('Planner', () => {
  it('places keyed records with murmur2, null keys round-robin, explicit partitions as given', async () => {
    const records: OutgoingRecord[] = [
      ...Array.from({ length: 20 }, (_, i) => ({ topic: 'six', key: Buffer.from(`key-${i}`), value: null })),
      { topic: 'six', key: null, value: Buffer.from('a') },
      { topic: 'six', key: null, value: Buffer.from('b') },
      { topic: 'six', partition: 5, key: Buffer.from('key-0'), value: null },
    ]
    const [chunk] = await new Planner(options(), kafkajsMessage).plan(records, counts)
    const parts = chunk!.partition
    for (let i = 0; i < 20; i++) expect(parts[i]).toBe(partitionForKey(Buffer.from(`key-${i}`), 6))
    expect(parts.slice(20, 22)).toEqual([0, 1])
    expect(parts[22]).toBe(5)
  })

  it('cuts a partition into chunks by record count and bytes, keeping order', async () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ topic: 'one', key: null, value: Buffer.alloc(100, i) }))
    const byCount = await new Planner(options({ chunkRecordsPerPartition: 10 }), kafkajsMessage).plan(records, counts)
    expect(byCount.map((c) => c.index.length)).toEqual([10, 10, 5])
    const byBytes = await new Planner(options({ chunkBytes: 1000 }), kafkajsMessage).plan(records, counts)
    expect(byBytes.every((c) => c.index.length <= 1000 / 124)).toBe(true)
    expect(byBytes.flatMap((c) => c.index)).toEqual(records.map((_, i) => i))
  })

  it('rejects a partition the topic does not have, and bad records, before sending anything', async () => {
    const planner = new Planner(options(), kafkajsMessage)
    await expect(planner.plan([{ topic: 'six', partition: 6, key: null, value: null }], counts)).rejects.toMatchObject({ code: 'TRIB_TOPIC_INVALID' })
    await expect(planner.plan([{ topic: 'bad name', key: null, value: null }], counts)).rejects.toMatchObject({ code: 'TRIB_TOPIC_INVALID' })
  })
})

describe('sendChunks', () => {
  it('gives each record its offset from the base offset of its partition batch, in record order', async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({ topic: 'six', key: Buffer.from(`k${i % 7}`), value: Buffer.from(String(i)) }))
    const chunks = await new Planner(options({ chunkRecordsPerPartition: 3 }), kafkajsMessage).plan(records, counts)
    const next = new Map<number, number>()
    const send = async ({ topicMessages }: Chunk<ReturnType<typeof kafkajsMessage>>) =>
      topicMessages.flatMap(({ topic, messages }) => {
        const perPartition = new Map<number, number>()
        for (const m of messages) perPartition.set(m.partition!, (perPartition.get(m.partition!) ?? 0) + 1)
        return [...perPartition].map(([partition, n]) => {
          const base = next.get(partition) ?? 0
          next.set(partition, base + n)
          return { topic, partition, offset: base }
        })
      })
    const positions = await sendChunks(send, chunks, records.length)
    // Offsets per partition are dense and follow the order of the records.
    const seen = new Map<number, number[]>()
    for (const p of positions) seen.set(p.partition, [...(seen.get(p.partition) ?? []), p.offset])
    for (const [partition, offsets] of seen) {
      expect(offsets).toEqual(offsets.map((_, i) => i))
      expect(partition).toBe(partitionForKey(records[positions.findIndex((p) => p.partition === partition)]!.key, 6))
    }
  })
})

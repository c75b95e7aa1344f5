import kafkajs from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nextOffsets, type Consumer, type Log, type LogRecord } from '../../runtime/log/log.ts'
import { kafkaBroker, kafkaClients, openTestKafkaLog, unique } from './kafka-support.ts'

/**
 * Partitions added to a topic while it is read, as an operator does with `kafka-topics --alter
 * --partitions` (here kafkajs' admin, a client of its own): a group member and a consumer without
 * a group both take them on within the metadata age (1 s here; 30 s by default), and nothing in
 * them is skipped, even by a consumer that started at the end.
 */
describe.each(kafkaClients)('partitions added to a topic being read (real broker) [%s]', (client) => {
  let log: Log
  beforeAll(async () => {
    log = await openTestKafkaLog({ tuning: { metadataMaxAgeMs: 1_000 } }, client)
  })
  afterAll(async () => {
    await log?.close()
  })

  const text = (r: LogRecord): string => `${r.partition}:${r.value!.toString()}`
  async function readUntil(c: Consumer, want: number, commit: boolean, timeoutMs = 30_000): Promise<string[]> {
    const seen: string[] = []
    const deadline = Date.now() + timeoutMs
    while (seen.length < want && Date.now() < deadline) {
      const records = await c.poll({ maxWaitMs: 200 })
      seen.push(...records.map(text))
      if (commit && records.length > 0) await c.commit({ offsets: nextOffsets(records) })
    }
    return seen
  }

  it('a group member and a consumer without a group read the new partitions from their start', async () => {
    const topic = unique('grow')
    await log.ensureTopic(topic, { partitions: 1 })
    await log.append([{ topic, partition: 0, key: null, value: Buffer.from('before') }])
    const member = log.consumer({ group: unique('g-grow'), topics: [topic] })
    const tail = log.consumer({ group: null, topics: [topic], from: { kind: 'latest' } })
    expect(await readUntil(member, 1, true)).toEqual(['0:before'])
    // The tail is positioned at the end of partition 0 before the topic grows.
    for (let i = 0; i < 5 && !tail.caughtUp(); i++) await tail.poll({ maxWaitMs: 200 })
    expect(tail.assignment()).toEqual([{ topic, partition: 0 }])

    const admin = new kafkajs.Kafka({ brokers: [kafkaBroker], logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
    } finally {
      await admin.disconnect()
    }
    // Written by another client right away: before either consumer can know the partitions exist.
    const writer = await openTestKafkaLog({}, client)
    try {
      await writer.append([1, 2].map((partition) => ({ topic, partition, key: null, value: Buffer.from(`new ${partition}`) })))
      await writer.append([{ topic, partition: 0, key: null, value: Buffer.from('after') }])
    } finally {
      await writer.close()
    }
    const fromMember = await readUntil(member, 3, true)
    const fromTail = await readUntil(tail, 3, false)
    expect([...fromMember].sort()).toEqual(['0:after', '1:new 1', '2:new 2'])
    expect([...fromTail].sort()).toEqual(['0:after', '1:new 1', '2:new 2'])
    for (const c of [member, tail]) expect(c.assignment().map((p) => p.partition)).toEqual([0, 1, 2])
    await member.close()
    await tail.close()
  }, 120_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTributaryError } from '../../runtime/errors.ts'
import { nextOffsets, type Log } from '../../runtime/log/log.ts'
import { openKafkaLog } from '../../connectors/kafka/index.ts'
import { kafkaClients, kafkaOptions, requireKafka, unique } from '../integration/kafka-support.ts'
import { PrivateBroker } from '../integration/kafka-private-broker.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))


/**
 * The broker restarted here is a private one (same jars and settings as infra.sh, its own ports
 * and data): restarting the shared broker would break the other test files running meanwhile.
 */
describe.each(kafkaClients)('Kafka broker restart mid-run (real broker) [%s]', (client) => {
  let log: Log
  let broker: PrivateBroker
  beforeAll(async () => {
    await requireKafka() // infra:up fetched the jars
    broker = await PrivateBroker.create()
    log = await openKafkaLog(kafkaOptions({}, broker.address, client))
  }, 180_000)
  afterAll(async () => {
    await log?.close()
    await broker?.destroy()
  })

  it('a produce and consume-commit loop resumes after the broker restarts; nothing acknowledged is lost', async () => {
    const input = unique('restart-in')
    const output = unique('restart-out')
    const group = unique('g-restart')
    await log.ensureTopic(input, { partitions: 3 })
    await log.ensureTopic(output, { partitions: 3 })

    const acked = new Set<string>()
    const consumed = new Set<string>()
    const retriable: string[] = []
    let next = 0
    let producing = true
    let consuming = true

    // Failures while the broker is away must be retriable TributaryErrors; the loops carry on.
    const tolerate = async (e: unknown): Promise<void> => {
      if (!isTributaryError(e) || !e.retriable) throw e
      retriable.push(e.code)
      await sleep(300)
    }
    const producer = (async () => {
      while (producing) {
        const values = Array.from({ length: 20 }, () => String(next++))
        try {
          await log.append(values.map((v) => ({ topic: input, key: Buffer.from(`k${v}`), value: Buffer.from(v) })))
          for (const v of values) acked.add(v)
        } catch (e) {
          await tolerate(e)
        }
        await sleep(25)
      }
    })()
    const consumer = log.consumer({ group, topics: [input] })
    const processor = (async () => {
      while (consuming) {
        try {
          const records = await consumer.poll({ maxRecords: 200, maxWaitMs: 200 })
          if (records.length === 0) continue
          await consumer.commit({ offsets: nextOffsets(records), records: records.map((r) => ({ topic: output, key: r.key, value: r.value })) })
          for (const r of records) consumed.add(r.value!.toString())
        } catch (e) {
          await tolerate(e)
        }
      }
    })()

    await sleep(3000)
    const before = acked.size
    expect(before).toBeGreaterThan(0)
    await broker.stop()
    // Down for a while: appends and commits fail (retriable) or wait inside kafkajs' retries.
    await sleep(5000)
    await broker.start()
    // Both loops make progress again after the restart.
    const resumeDeadline = Date.now() + 120_000
    while ((acked.size < before + 200 || consumed.size < before + 200) && Date.now() < resumeDeadline) await sleep(200)
    producing = false
    await producer
    // Done when every acknowledged record was processed and the group committed up to the ends
    // (an append that failed may still have landed: it is processed like any other).
    const committedToEnd = async (): Promise<boolean> => {
      const ends = (await log.describeTopic(input))!.partitions
      const offsets = await log.groupOffsets(group)
      return ends.every((p) => offsets.find((o) => o.partition === p.partition)?.offset === p.end)
    }
    const doneDeadline = Date.now() + 120_000
    while (([...acked].some((v) => !consumed.has(v)) || !(await committedToEnd())) && Date.now() < doneDeadline) await sleep(300)
    consuming = false
    await processor
    await consumer.close()

    expect(acked.size).toBeGreaterThanOrEqual(before + 200)
    expect(retriable.every((code) => code === 'TRIB_KAFKA_UNAVAILABLE' || code === 'TRIB_LOG_REBALANCED')).toBe(true)
    // Every acknowledged append is in the topic and was processed.
    const stored = new Set<string>()
    const reader = log.consumer({ group: null, topics: [input] })
    for (;;) {
      const records = await reader.poll({ maxRecords: 5000, maxWaitMs: 0 })
      for (const r of records) stored.add(r.value!.toString())
      if (records.length === 0 && reader.caughtUp()) break
    }
    await reader.close()
    expect([...acked].filter((v) => !stored.has(v))).toEqual([])
    expect([...acked].filter((v) => !consumed.has(v))).toEqual([])
    const ends = (await log.describeTopic(input))!.partitions
    expect(await log.groupOffsets(group)).toEqual(ends.map((p) => ({ topic: input, partition: p.partition, offset: p.end })))
  }, 420_000)
})

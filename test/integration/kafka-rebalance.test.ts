import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nextOffsets, type Consumer, type Log } from '../../runtime/log/log.ts'
import { kafkaClients, openTestKafkaLog, unique } from './kafka-support.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Next offsets to commit for a polled batch: last offset + 1 per partition. */

describe.each(kafkaClients)('Kafka consumer group rebalance (real broker) [%s]', (client) => {
  let log: Log
  beforeAll(async () => {
    log = await openTestKafkaLog({}, client)
  })
  afterAll(async () => {
    await log?.close()
  })

  it.each([
    ['at-least-once', false],
    ['exactly-once', true],
  ])('%s: a second member joins while records flow: partitions split, nothing is lost, only uncommitted records repeat, offsets cover everything', async (_, exactlyOnce) => {
    const topic = unique('rebalance')
    const output = unique('rebalance-out')
    const group = unique('g-rebalance')
    await log.ensureTopic(topic, { partitions: 6 })
    await log.ensureTopic(output, { partitions: 6 })

    // Producer: unique values, keyed so they spread over all six partitions.
    let produced = 0
    let producing = true
    const producer = (async () => {
      while (producing) {
        const batch = Array.from({ length: 60 }, (_, i) => ({ topic, key: Buffer.from(`k${(produced + i) % 97}`), value: Buffer.from(String(produced + i)) }))
        await log.append(batch)
        produced += batch.length
        await sleep(20)
      }
    })()

    // What every member saw, and the highest offset committed per partition when it was delivered.
    const committed = new Map<number, number>()
    const deliveries: Array<{ member: string; partition: number; offset: number; value: string }> = []
    const violations: string[] = []
    const assignments = new Map<string, number[]>()
    let running = true
    const member = async (name: string, c: Consumer): Promise<void> => {
      while (running) {
        const records = await c.poll({ maxRecords: 150, maxWaitMs: 200 })
        assignments.set(name, c.assignment().map((tp) => tp.partition))
        for (const r of records) {
          // A record whose offset was already committed must never come again.
          if (r.offset < (committed.get(r.partition) ?? 0)) violations.push(`${name} got ${r.partition}@${r.offset} after commit ${committed.get(r.partition)}`)
          deliveries.push({ member: name, partition: r.partition, offset: r.offset, value: r.value!.toString() })
        }
        if (records.length === 0) continue
        const offsets = nextOffsets(records)
        // Outputs and offsets together, as the processor does (at-least-once on Kafka by default).
        await c.commit({ offsets, records: records.map((r) => ({ topic: output, key: r.key, value: r.value })) })
        for (const o of offsets) committed.set(o.partition, Math.max(committed.get(o.partition) ?? 0, o.offset))
        await sleep(5)
      }
    }

    const a = log.consumer({ group, topics: [topic], exactlyOnce })
    const runA = member('a', a)
    // Let the first member own all six partitions for a while.
    const deadlineA = Date.now() + 30_000
    while (deliveries.length < 500 && Date.now() < deadlineA) await sleep(50)
    expect(assignments.get('a')).toHaveLength(6)

    const b = log.consumer({ group, topics: [topic], exactlyOnce })
    const runB = member('b', b)
    let split = false
    const deadlineB = Date.now() + 60_000
    while (!split && Date.now() < deadlineB) {
      await sleep(100)
      const pa = assignments.get('a') ?? []
      const pb = assignments.get('b') ?? []
      split = pa.length > 0 && pb.length > 0 && new Set([...pa, ...pb]).size === 6 && pa.length + pb.length === 6
    }
    expect(split).toBe(true)
    // Records keep flowing to both members after the split.
    await sleep(1500)
    producing = false
    await producer

    // Run until everything produced was delivered and committed, then stop both members.
    const values = (): Set<string> => new Set(deliveries.map((d) => d.value))
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const ends = (await log.describeTopic(topic))!.partitions
      if (values().size === produced && ends.every((p) => (committed.get(p.partition) ?? 0) === p.end)) break
      await sleep(200)
    }
    running = false
    await Promise.all([runA, runB])
    await a.close()
    await b.close()

    expect(violations).toEqual([])
    expect(deliveries.some((d) => d.member === 'b')).toBe(true)
    // Nothing lost: every produced value was delivered to some member.
    const seen = values()
    const missing = Array.from({ length: produced }, (_, i) => String(i)).filter((v) => !seen.has(v))
    expect(missing).toEqual([])
    // The group's committed offsets cover every partition to its end.
    const ends = (await log.describeTopic(topic))!.partitions
    expect(await log.groupOffsets(group)).toEqual(ends.map((p) => ({ topic, partition: p.partition, offset: p.end })))
    // Every input has an output; read_committed, so only outputs of committed steps count.
    const outputs = new Map<string, number>()
    const reader = log.consumer({ group: null, topics: [output] })
    for (;;) {
      const records = await reader.poll({ maxRecords: 5000, maxWaitMs: 0 })
      for (const r of records) outputs.set(r.value!.toString(), (outputs.get(r.value!.toString()) ?? 0) + 1)
      if (records.length === 0 && reader.caughtUp()) break
    }
    await reader.close()
    expect(outputs.size).toBe(produced)
    // Committing before polling again, a member never hands a partition over with uncommitted
    // work, so not even at-least-once repeats anything here.
    expect([...outputs.values()].every((n) => n === 1)).toBe(true)
  }, 240_000)
})

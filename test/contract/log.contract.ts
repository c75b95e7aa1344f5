import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Consumer, Log, LogRecord, OutgoingRecord } from '../../runtime/log/log.ts'
import { partitionForKey } from '../../runtime/log/partitioner.ts'

/**
 * The contract every Log adapter must honour. It also runs against a real Kafka broker, so it uses
 * only the Log interface, gives every test its own topics and groups, and waits by polling until the
 * expected records arrive (or a generous timeout passes) rather than assuming delivery timing.
 */
export function logContract(name: string, open: () => Promise<{ log: Log; cleanup: () => Promise<void> }>): void {
  describe(`Log contract: ${name}`, () => {
    let log: Log
    let cleanup: () => Promise<void>
    const consumers: Consumer[] = []

    beforeAll(async () => {
      ;({ log, cleanup } = await open())
    })
    afterAll(async () => {
      for (const c of consumers) await c.close().catch(() => undefined)
      await cleanup()
    })

    const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`
    const b = (s: string): Buffer => Buffer.from(s)
    const text = (buf: Buffer | null): string | null => (buf === null ? null : buf.toString())
    const consumer = (...args: Parameters<Log['consumer']>): Consumer => {
      const c = log.consumer(...args)
      consumers.push(c)
      return c
    }

    /** Polls until `count` records arrived (then a short extra poll to catch any surplus) or the timeout. */
    async function pollUntil(c: Consumer, count: number, timeoutMs = 30_000): Promise<LogRecord[]> {
      const out: LogRecord[] = []
      const deadline = Date.now() + timeoutMs
      while (out.length < count && Date.now() < deadline) out.push(...(await c.poll({ maxWaitMs: 200 })))
      out.push(...(await c.poll({ maxWaitMs: 300 })))
      return out
    }

    const byPartitionOffset = (a: LogRecord, z: LogRecord): number => a.partition - z.partition || a.offset - z.offset

    it('appends records and reads them back with offsets, keys, values, headers and timestamps', async () => {
      const topic = unique('basic')
      await log.ensureTopic(topic, { partitions: 1 })
      const ts = Date.now() - 60_000
      const records: OutgoingRecord[] = [
        { topic, key: b('k1'), value: b('v1'), headers: { trace: b('t-1'), empty: Buffer.alloc(0) }, timestamp: ts },
        { topic, key: null, value: b('v2'), timestamp: ts + 1 },
        { topic, key: b('k3'), value: null, timestamp: ts + 2 },
      ]
      const positions = await log.append(records)
      expect(positions).toEqual([0, 1, 2].map((offset) => ({ topic, partition: 0, offset })))

      const got = await pollUntil(consumer({ group: null, topics: [topic] }), 3)
      expect(got.map((r) => [r.topic, r.partition, r.offset, text(r.key), text(r.value), r.timestamp])).toEqual([
        [topic, 0, 0, 'k1', 'v1', ts],
        [topic, 0, 1, null, 'v2', ts + 1],
        [topic, 0, 2, 'k3', null, ts + 2],
      ])
      expect(Object.fromEntries(Object.entries(got[0]!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ trace: 't-1', empty: '' })
      expect(got[1]!.headers).toEqual({})
    })

    it('keeps offsets dense per partition across appends and honours an explicit partition', async () => {
      const topic = unique('dense')
      await log.ensureTopic(topic, { partitions: 3 })
      const first = await log.append([0, 1, 2].map((i) => ({ topic, partition: 1, key: null, value: b(`a${i}`) })))
      const second = await log.append([3, 4].map((i) => ({ topic, partition: 1, key: null, value: b(`a${i}`) })))
      expect([...first, ...second].map((p) => [p.partition, p.offset])).toEqual([0, 1, 2, 3, 4].map((o) => [1, o]))
      const info = await log.describeTopic(topic)
      expect(info?.partitions.map((p) => [p.partition, p.start, p.end])).toEqual([
        [0, 0, 0],
        [1, 0, 5],
        [2, 0, 0],
      ])
    })

    it('describes and lists topics with their end offsets; an existing topic keeps its partitions', async () => {
      const topic = unique('describe')
      const created = await log.ensureTopic(topic, { partitions: 2 })
      expect(created.partitions.map((p) => p.partition)).toEqual([0, 1])
      await log.append([
        { topic, partition: 0, key: null, value: b('x') },
        { topic, partition: 0, key: null, value: b('y') },
        { topic, partition: 1, key: null, value: b('z') },
      ])
      const again = await log.ensureTopic(topic, { partitions: 5 })
      expect(again.partitions).toHaveLength(2)
      const listed = (await log.listTopics()).find((t) => t.name === topic)
      expect(listed?.partitions.map((p) => p.end)).toEqual([2, 1])
      expect(await log.describeTopic(unique('missing'))).toBeUndefined()
    })

    it('uses topics right after creating them, many at once: describe, append and read each', async () => {
      // A broker lists a new topic a moment before it leads its partitions (NOT_LEADER_OR_FOLLOWER,
      // UNKNOWN_TOPIC_OR_PARTITION): ensureTopic and describeTopic wait for that, and an append to a
      // topic nobody created creates it. Many at once, so a slow broker shows it.
      const created = Array.from({ length: 16 }, () => unique('burst'))
      const implicit = Array.from({ length: 8 }, () => unique('burst-new'))
      await Promise.all([
        ...created.map(async (topic) => {
          // Twice at once: one creates it, the other finds it (or its create meets TOPIC_ALREADY_EXISTS).
          const [a, z] = await Promise.all([log.ensureTopic(topic, { partitions: 3 }), log.ensureTopic(topic, { partitions: 3 })])
          expect([a.partitions.length, z.partitions.length]).toEqual([3, 3])
          expect((await log.describeTopic(topic))?.partitions.map((p) => p.end)).toEqual([0, 0, 0])
          const positions = await log.append([0, 1, 2, 2].map((partition) => ({ topic, partition, key: null, value: b(`${partition}`) })))
          expect(positions.map((p) => [p.partition, p.offset])).toEqual([[0, 0], [1, 0], [2, 0], [2, 1]])
          expect((await log.describeTopic(topic))?.partitions.map((p) => p.end)).toEqual([1, 1, 2])
        }),
        ...implicit.map(async (topic) => {
          const [position] = await log.append([{ topic, key: null, value: b('first') }])
          expect(position).toMatchObject({ topic, offset: 0 })
          expect((await log.describeTopic(topic))?.partitions.reduce((n, p) => n + p.end, 0)).toBe(1)
        }),
      ])
      const c = consumer({ group: null, topics: [created[0]!, implicit[0]!] })
      const read = await pollUntil(c, 5)
      expect(read.map((r) => `${r.topic === created[0] ? 'c' : 'i'}${r.partition}:${text(r.value)}`).sort()).toEqual(['c0:0', 'c1:1', 'c2:2', 'c2:2', `i${read.find((r) => r.topic === implicit[0])?.partition}:first`].sort())
    }, 120_000)

    it('resumes a consumer group exactly after its committed offsets', async () => {
      const topic = unique('resume')
      const group = unique('g-resume')
      await log.ensureTopic(topic, { partitions: 2 })
      const records: OutgoingRecord[] = []
      for (let i = 0; i < 10; i++) for (const partition of [0, 1]) records.push({ topic, partition, key: null, value: b(`${partition}:${i}`) })
      await log.append(records)

      const first = consumer({ group, topics: [topic] })
      const all = await pollUntil(first, 20)
      expect(all).toHaveLength(20)
      await first.commit({ offsets: [{ topic, partition: 0, offset: 4 }, { topic, partition: 1, offset: 7 }] })
      await first.close()
      expect(await log.groupOffsets(group)).toEqual([
        { topic, partition: 0, offset: 4 },
        { topic, partition: 1, offset: 7 },
      ])
      expect(await log.listGroups()).toContain(group)

      const second = consumer({ group, topics: [topic] })
      const rest = (await pollUntil(second, 9)).sort(byPartitionOffset)
      expect(rest.map((r) => text(r.value))).toEqual([...[4, 5, 6, 7, 8, 9].map((i) => `0:${i}`), ...[7, 8, 9].map((i) => `1:${i}`)])
      await second.close()
    })

    it('commits outputs and input offsets as one step', async () => {
      const input = unique('in')
      const output = unique('out')
      const group = unique('g-step')
      await log.ensureTopic(input, { partitions: 1 })
      await log.ensureTopic(output, { partitions: 1 })
      await log.append([1, 2, 3].map((i) => ({ topic: input, key: b(`k${i}`), value: b(`${i}`) })))

      const c = consumer({ group, topics: [input] })
      const got = await pollUntil(c, 3)
      const outputs = got.map((r) => ({ topic: output, key: r.key, value: b(`${text(r.value)}!`) }))
      const last = got[got.length - 1]!
      const positions = await c.commit({ offsets: [{ topic: input, partition: 0, offset: last.offset + 1 }], records: outputs })
      expect(positions.map((p) => [p.topic, p.offset])).toEqual([0, 1, 2].map((o) => [output, o]))
      expect(await log.groupOffsets(group)).toEqual([{ topic: input, partition: 0, offset: 3 }])

      const written = await pollUntil(consumer({ group: null, topics: [output] }), 3)
      expect(written.map((r) => [text(r.key), text(r.value)])).toEqual([
        ['k1', '1!'],
        ['k2', '2!'],
        ['k3', '3!'],
      ])
    })

    it('finds offsets by timestamp and starts a consumer from a timestamp', async () => {
      const topic = unique('time')
      await log.ensureTopic(topic, { partitions: 1 })
      const base = Date.now() - 3_600_000
      await log.append([0, 100, 200, 300, 400].map((d, i) => ({ topic, key: null, value: b(`t${i}`), timestamp: base + d })))

      const at = async (t: number): Promise<number> => (await log.offsetsForTimestamp(topic, t))[0]!.offset
      expect(await at(base - 1)).toBe(0)
      expect(await at(base + 150)).toBe(2)
      expect(await at(base + 200)).toBe(2)
      expect(await at(base + 400)).toBe(4)
      expect(await at(base + 401)).toBe(5)

      const got = await pollUntil(consumer({ group: null, topics: [topic], from: { kind: 'timestamp', timestamp: base + 250 } }), 2)
      expect(got.map((r) => r.offset)).toEqual([3, 4])
    })

    it('keeps each key on one partition (murmur2) and in order', async () => {
      const topic = unique('keys')
      const partitions = 4
      await log.ensureTopic(topic, { partitions })
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
      for (let round = 0; round < 5; round++) {
        const batch: OutgoingRecord[] = []
        for (let step = 0; step < 4; step++) for (const k of keys) batch.push({ topic, key: b(k), value: b(String(round * 4 + step)) })
        await log.append(batch)
      }
      const got = await pollUntil(consumer({ group: null, topics: [topic] }), keys.length * 20)
      expect(got).toHaveLength(keys.length * 20)
      const seen = new Map<string, { partitions: Set<number>; values: number[] }>()
      for (const r of got) {
        const k = text(r.key)!
        const entry = seen.get(k) ?? { partitions: new Set(), values: [] }
        entry.partitions.add(r.partition)
        entry.values.push(Number(text(r.value)))
        seen.set(k, entry)
      }
      const used = new Set<number>()
      for (const k of keys) {
        const entry = seen.get(k)!
        expect([...entry.partitions]).toEqual([partitionForKey(b(k), partitions)])
        expect(entry.values).toEqual(Array.from({ length: 20 }, (_, i) => i))
        used.add([...entry.partitions][0]!)
      }
      expect(used.size).toBeGreaterThan(1)
    })

    it('starts from latest: only records appended after the consumer started arrive', async () => {
      const topic = unique('latest')
      await log.ensureTopic(topic, { partitions: 2 })
      await log.append([0, 1, 2].map((i) => ({ topic, key: null, value: b(`old${i}`) })))
      const c = consumer({ group: unique('g-latest'), topics: [topic], from: { kind: 'latest' } })
      expect(await c.poll({ maxWaitMs: 1000 })).toEqual([])
      await log.append([0, 1].map((i) => ({ topic, key: null, value: b(`new${i}`) })))
      const got = await pollUntil(c, 2)
      expect(got.map((r) => text(r.value)).sort()).toEqual(['new0', 'new1'])
    })

    it('reads and overwrites group offsets; a consumer starts from them', async () => {
      const topic = unique('setoff')
      const group = unique('g-set')
      await log.ensureTopic(topic, { partitions: 1 })
      await log.append([0, 1, 2, 3, 4].map((i) => ({ topic, key: null, value: b(`r${i}`) })))
      expect(await log.groupOffsets(group)).toEqual([])
      await log.setGroupOffsets(group, [{ topic, partition: 0, offset: 3 }])
      expect(await log.groupOffsets(group)).toEqual([{ topic, partition: 0, offset: 3 }])
      await log.setGroupOffsets(group, [{ topic, partition: 0, offset: 1 }])
      expect(await log.groupOffsets(group)).toEqual([{ topic, partition: 0, offset: 1 }])
      const c = consumer({ group, topics: [topic] })
      const got = await pollUntil(c, 4)
      expect(got.map((r) => r.offset)).toEqual([1, 2, 3, 4])
      await c.close()
    })

    it('deletes topics and groups; a topic created again starts empty', async () => {
      const topic = unique('deleted')
      const group = unique('g-deleted')
      await log.ensureTopic(topic, { partitions: 2 })
      await log.append([0, 1, 2].map((i) => ({ topic, partition: 0, key: null, value: b(`d${i}`) })))
      await log.setGroupOffsets(group, [{ topic, partition: 0, offset: 2 }])
      await log.deleteTopics([topic, unique('never-existed')])
      // A broker deletes in the background: wait until it is gone (the embedded log: at once).
      const deadline = Date.now() + 30_000
      while ((await log.describeTopic(topic)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
      expect(await log.describeTopic(topic)).toBeUndefined()
      expect((await log.listTopics()).map((t) => t.name)).not.toContain(topic)
      await log.deleteGroups([group, unique('g-never-existed')])
      expect(await log.listGroups()).not.toContain(group)
      expect(await log.groupOffsets(group)).toEqual([])

      for (;;) {
        try {
          await log.ensureTopic(topic, { partitions: 1 })
          break
        } catch (e) {
          if (Date.now() > deadline) throw e
          await new Promise((r) => setTimeout(r, 500))
        }
      }
      await log.append([{ topic, key: null, value: b('again') }])
      const got = await pollUntil(consumer({ group: null, topics: [topic] }), 1)
      expect(got.map((r) => [r.offset, text(r.value)])).toEqual([[0, 'again']])
    })

    it('seeks within an assigned partition and reports when it is caught up', async () => {
      const topic = unique('seek')
      await log.ensureTopic(topic, { partitions: 1 })
      await log.append([0, 1, 2, 3].map((i) => ({ topic, key: null, value: b(`s${i}`) })))
      const c = consumer({ group: null, topics: [topic] })
      expect((await pollUntil(c, 4)).map((r) => r.offset)).toEqual([0, 1, 2, 3])
      const deadline = Date.now() + 10_000
      while (!c.caughtUp() && Date.now() < deadline) await c.poll({ maxWaitMs: 100 })
      expect(c.caughtUp()).toBe(true)
      expect(c.assignment()).toEqual([{ topic, partition: 0 }])
      c.seek({ topic, partition: 0, offset: 2 })
      expect((await pollUntil(c, 2)).map((r) => text(r.value))).toEqual(['s2', 's3'])
    })
  })
}

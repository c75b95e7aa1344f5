import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTributaryError, type ErrorCode } from '../../runtime/errors.ts'
import type { Consumer, Log, LogRecord, OutgoingRecord, RecordPosition, TopicPartition } from '../../runtime/log/log.ts'
import { partitionForKey } from '../../runtime/log/partitioner.ts'

/**
 * The contract every Log adapter must honour (runtime/log/log.ts), every consumer option included,
 * and what the adapter declares in `capabilities`. It also runs against a real Kafka broker, so it
 * uses only the Log interface, gives every test its own topics and groups, and waits by polling
 * until the expected records arrive (or a generous timeout passes) rather than assuming delivery
 * timing. `open` may be called more than once (the use-after-close case closes a log of its own).
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

    /** The TributaryError code a call fails with, whether it throws or rejects; fails the test otherwise. */
    async function failureCode(call: () => unknown): Promise<string> {
      let error: unknown
      try {
        await call()
      } catch (e) {
        error = e
      }
      if (!isTributaryError(error)) throw new Error(`expected a TributaryError, got ${String(error)}`)
      return error.code
    }
    const key = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`

    it('member: a group\'s members hold disjoint partitions that cover the topic, each reading only its own; static assignment is p % count', async () => {
      const topic = unique('members')
      const group = unique('g-members')
      await log.ensureTopic(topic, { partitions: 4 })
      const members = [0, 1].map((index) => consumer({ group, topics: [topic], member: { index, count: 2 } }))
      // Under dynamic assignment the members join the group first: poll until the partitions are divided.
      const settled = () => {
        const held = members.map((m) => m.assignment().map(key))
        return held.every((h) => h.length > 0) && new Set(held.flat()).size === 4 && held.flat().length === 4
      }
      const deadline = Date.now() + 60_000
      while (!settled() && Date.now() < deadline) for (const m of members) await m.poll({ maxWaitMs: 100 })
      expect(members.map((m) => m.assignment().map(key).sort())).toEqual(
        log.capabilities.assignment === 'static' ? [0, 1].map((i) => [i, i + 2].map((p) => `${topic}-${p}`)) : expect.anything(),
      )
      expect(settled(), JSON.stringify(members.map((m) => m.assignment()))).toBe(true)

      const records: OutgoingRecord[] = []
      for (let partition = 0; partition < 4; partition++) for (let i = 0; i < 5; i++) records.push({ topic, partition, key: null, value: b(`${partition}:${i}`) })
      await log.append(records)
      const got = members.map((): LogRecord[] => [])
      const until = Date.now() + 30_000
      while (got.flat().length < records.length && Date.now() < until) for (const [i, m] of members.entries()) got[i]!.push(...(await m.poll({ maxWaitMs: 100 })))
      for (const [i, m] of members.entries()) got[i]!.push(...(await m.poll({ maxWaitMs: 200 })))
      expect(got.flat().map((r) => text(r.value)).sort()).toEqual(records.map((r) => text(r.value)).sort())
      for (const [i, m] of members.entries()) {
        const held = new Set(m.assignment().map(key))
        for (const r of got[i]!) expect(held.has(key(r)), `member ${i} read ${key(r)}, holding ${[...held].join(' ')}`).toBe(true)
      }
    })

    it('member: a second open consumer of the group with the same index is refused; closing the first frees the index', async () => {
      const topic = unique('member-twice')
      const group = unique('g-twice')
      await log.ensureTopic(topic, { partitions: 2 })
      const first = consumer({ group, topics: [topic], member: { index: 1, count: 2 } })
      await first.poll({ maxWaitMs: 100 })
      expect(['TRIB_USAGE', 'TRIB_LOG_GROUP_BUSY']).toContain(await failureCode(() => consumer({ group, topics: [topic], member: { index: 1, count: 2 } })))
      expect(await failureCode(() => consumer({ group, topics: [topic], member: { index: 2, count: 2 } }))).toBe('TRIB_USAGE')
      await first.close()
      const again = consumer({ group, topics: [topic], member: { index: 1, count: 2 } })
      await again.poll({ maxWaitMs: 100 })
      await again.close()
    })

    it('exactlyOnce: a commit makes outputs and offsets visible together; a refused commit leaves neither', async () => {
      const input = unique('eos-in')
      const output = unique('eos-out')
      const group = unique('g-eos')
      await log.ensureTopic(input, { partitions: 1 })
      await log.ensureTopic(output, { partitions: 1 })
      await log.append([1, 2, 3].map((i) => ({ topic: input, key: b(`k${i}`), value: b(`${i}`) })))
      const c = consumer({ group, topics: [input], exactlyOnce: true })
      const got = await pollUntil(c, 3)
      expect(got.map((r) => text(r.value))).toEqual(['1', '2', '3'])
      // A partition the consumer does not hold: refused before anything is written.
      const elsewhere = unique('eos-elsewhere')
      await log.ensureTopic(elsewhere, { partitions: 1 })
      const refused = await failureCode(() =>
        c.commit({
          offsets: [{ topic: input, partition: 0, offset: 3 }, { topic: elsewhere, partition: 0, offset: 1 }],
          records: [{ topic: output, key: null, value: b('never') }],
        }),
      )
      expect(['TRIB_USAGE', 'TRIB_LOG_REBALANCED']).toContain(refused)
      expect(await log.groupOffsets(group)).toEqual([])
      const positions = await c.commit({ offsets: [{ topic: input, partition: 0, offset: 3 }], records: got.map((r) => ({ topic: output, key: r.key, value: b(`${text(r.value)}!`) })) })
      expect(positions.map((p) => p.topic)).toEqual([output, output, output])
      // A live consumer's latest commit may read back a moment later; a closed one's has.
      await c.close()
      expect(await log.groupOffsets(group)).toEqual([{ topic: input, partition: 0, offset: 3 }])
      const written = await pollUntil(consumer({ group: null, topics: [output] }), 3)
      expect(written.map((r) => text(r.value))).toEqual(['1!', '2!', '3!'])
    })

    it('a poll with maxWaitMs 0 drains: after a commit resolves, a reader is caught up only once it has read its records', async () => {
      // What `run --until-idle` relies on: a downstream reader asked right after its upstream's
      // exactly-once commit must not answer "nothing left" while that commit's records settle.
      const input = unique('drain-in')
      const output = unique('drain-out')
      await log.ensureTopic(input, { partitions: 1 })
      await log.ensureTopic(output, { partitions: 1 })
      const rounds = 12
      await log.append(Array.from({ length: rounds }, (_, i) => ({ topic: input, key: null, value: b(`${i}`) })))
      const writer = consumer({ group: unique('g-drain'), topics: [input], exactlyOnce: true })
      expect(await pollUntil(writer, rounds)).toHaveLength(rounds)
      const reader = consumer({ group: null, topics: [output] })
      const deadline = Date.now() + 30_000
      while (!reader.caughtUp() && Date.now() < deadline) await reader.poll({ maxWaitMs: 100 })
      for (let i = 0; i < rounds; i++) {
        await writer.commit({ offsets: [{ topic: input, partition: 0, offset: i + 1 }], records: [{ topic: output, key: null, value: b(`out ${i}`) }] })
        const got: LogRecord[] = []
        do got.push(...(await reader.poll({ maxWaitMs: 0 })))
        while (!reader.caughtUp() && Date.now() < deadline)
        expect(got.map((r) => text(r.value)), `round ${i}`).toEqual([`out ${i}`])
      }
    })

    it('maxBufferedRecords: no poll returns more, whatever its maxRecords, and every record still arrives in order', async () => {
      const topic = unique('buffered')
      await log.ensureTopic(topic, { partitions: 1 })
      await log.append(Array.from({ length: 60 }, (_, i) => ({ topic, key: null, value: b(`m${i}`) })))
      const c = consumer({ group: null, topics: [topic], maxBufferedRecords: 7 })
      const got: LogRecord[] = []
      const deadline = Date.now() + 30_000
      while (got.length < 60 && Date.now() < deadline) {
        const batch = await c.poll({ maxRecords: 1000, maxWaitMs: 200 })
        expect(batch.length).toBeLessThanOrEqual(7)
        got.push(...batch)
      }
      expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    })

    it('prepare: readies a consumer without reading or moving its positions', async () => {
      const topic = unique('prepare')
      const group = unique('g-prepare')
      await log.ensureTopic(topic, { partitions: 1 })
      await log.append([0, 1, 2, 3].map((i) => ({ topic, key: null, value: b(`p${i}`) })))
      await log.setGroupOffsets(group, [{ topic, partition: 0, offset: 2 }])
      for (const exactlyOnce of [true, false]) {
        const c = consumer({ group, topics: [topic], exactlyOnce })
        await c.prepare?.()
        await c.prepare?.()
        expect(await log.groupOffsets(group)).toEqual([{ topic, partition: 0, offset: 2 }])
        const got = await pollUntil(c, 2)
        expect(got.map((r) => text(r.value)), `exactlyOnce ${exactlyOnce}`).toEqual(['p2', 'p3'])
        await c.close()
      }
    })

    for (const exactlyOnce of [false, true]) {
      it(`pipelined${exactlyOnce ? ', exactlyOnce' : ''}: commits made without waiting take effect in order; flush() makes them all durable`, async () => {
        const input = unique('pipe-in')
        const output = unique('pipe-out')
        const group = unique('g-pipe')
        await log.ensureTopic(input, { partitions: 1 })
        await log.ensureTopic(output, { partitions: 1 })
        await log.append(Array.from({ length: 6 }, (_, i) => ({ topic: input, key: null, value: b(`i${i}`) })))
        const c = consumer({ group, topics: [input], pipelined: true, exactlyOnce })
        const got = await pollUntil(c, 6)
        expect(got).toHaveLength(6)
        const commits = got.map((r) => c.commit({ offsets: [{ topic: input, partition: 0, offset: r.offset + 1 }], records: [{ topic: output, key: null, value: b(`o${text(r.value)}`) }] }))
        // With flush(), everything made so far is durable when it resolves; without, each commit is when it resolves.
        if (c.flush) await c.flush()
        else await Promise.all(commits)
        const written = await pollUntil(consumer({ group: null, topics: [output] }), 6)
        expect(written.map((r) => text(r.value))).toEqual(got.map((r) => `o${text(r.value)}`))
        const positions: RecordPosition[] = (await Promise.all(commits)).flat()
        expect(positions.map((p) => p.offset)).toEqual(written.map((r) => r.offset))
        await c.flush?.()
        // The offsets of a closed consumer read back (a live one's may a moment after its commit).
        await c.close()
        expect(await log.groupOffsets(group)).toEqual([{ topic: input, partition: 0, offset: got.at(-1)!.offset + 1 }])
      })
    }

    it('a closed consumer refuses every call with TRIB_LOG_CLOSED but close() and caughtUp()', async () => {
      const topic = unique('closed-consumer')
      const group = unique('g-closed')
      await log.ensureTopic(topic, { partitions: 1 })
      await log.append([{ topic, key: null, value: b('x') }])
      const c = consumer({ group, topics: [topic], exactlyOnce: true, pipelined: true })
      expect(await pollUntil(c, 1)).toHaveLength(1)
      await c.close()
      await c.close()
      const calls: Record<string, () => unknown> = {
        poll: () => c.poll({ maxWaitMs: 0 }),
        seek: () => c.seek({ topic, partition: 0, offset: 0 }),
        commit: () => c.commit({ offsets: [{ topic, partition: 0, offset: 1 }] }),
        ...(c.prepare ? { prepare: () => c.prepare!() } : {}),
      }
      for (const [name, call] of Object.entries(calls)) expect(await failureCode(call), name).toBe('TRIB_LOG_CLOSED' satisfies ErrorCode)
      expect(c.caughtUp()).toBe(true)
      await c.flush?.()
      expect(await log.groupOffsets(group)).toEqual([])
    })

    it('a closed log refuses every call with TRIB_LOG_CLOSED and closes its consumers', async () => {
      const own = await open()
      try {
        const topic = unique('closed-log')
        await own.log.ensureTopic(topic, { partitions: 1 })
        await own.log.append([{ topic, key: null, value: b('x') }])
        const c = own.log.consumer({ group: unique('g-closed-log'), topics: [topic] })
        expect(await pollUntil(c, 1)).toHaveLength(1)
        await own.log.close()
        await own.log.close()
        const calls: Record<string, () => unknown> = {
          ensureTopic: () => own.log.ensureTopic(unique('after-close')),
          describeTopic: () => own.log.describeTopic(topic),
          listTopics: () => own.log.listTopics(),
          append: () => own.log.append([{ topic, key: null, value: b('y') }]),
          offsetsForTimestamp: () => own.log.offsetsForTimestamp(topic, 0),
          consumer: () => own.log.consumer({ group: null, topics: [topic] }),
          listGroups: () => own.log.listGroups(),
          groupOffsets: () => own.log.groupOffsets('g'),
          setGroupOffsets: () => own.log.setGroupOffsets(unique('g-after-close'), [{ topic, partition: 0, offset: 0 }]),
          'consumer.poll': () => c.poll({ maxWaitMs: 0 }),
        }
        for (const [name, call] of Object.entries(calls)) expect(await failureCode(call), name).toBe('TRIB_LOG_CLOSED')
      } finally {
        await own.cleanup()
      }
      // The shared log is untouched.
      expect(await log.describeTopic(unique('still-open'))).toBeUndefined()
    })
  })
}

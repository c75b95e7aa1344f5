import { describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import type { Log, LogRecord, OutgoingRecord } from '../../../runtime/log/log.ts'
import { readAll, segmentFiles, tempDir } from './fixtures/tmp.ts'

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

interface Expected {
  partition: number
  offset: number
  value: string
  timestamp: number
}

/** Appends `count` records of varied size and non-monotonic timestamps over 2 partitions. */
async function fill(log: Log, topic: string, count: number, rnd: () => number): Promise<Expected[]> {
  await log.ensureTopic(topic, { partitions: 2 })
  const expected: Expected[] = []
  let i = 0
  while (i < count) {
    const size = 1 + Math.floor(rnd() * 40)
    const batch: OutgoingRecord[] = []
    for (let k = 0; k < size && i < count; k++, i++) {
      const value = `v${i}-`.padEnd(10 + Math.floor(rnd() * 600), 'x')
      batch.push({ topic, partition: i % 2, key: Buffer.from(`k${i}`), value: Buffer.from(value), timestamp: 1_000_000 + Math.floor(rnd() * 100_000) })
    }
    const positions = await log.append(batch)
    positions.forEach((p, k) => expected.push({ partition: p.partition, offset: p.offset, value: batch[k]!.value!.toString(), timestamp: batch[k]!.timestamp! }))
  }
  return expected
}

const firstAtOrAfter = (expected: Expected[], partition: number, t: number): number => {
  const hit = expected.filter((e) => e.partition === partition && e.timestamp >= t).sort((a, b) => a.offset - b.offset)[0]
  return hit?.offset ?? expected.filter((e) => e.partition === partition).length
}

async function readFrom(log: Log, topic: string, partition: number, offset: number, count: number): Promise<LogRecord[]> {
  const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'offset', offset } })
  const out: LogRecord[] = []
  for (let got = await consumer.poll({ maxWaitMs: 0 }); got.length > 0 && out.length < count; got = await consumer.poll({ maxWaitMs: 0 })) {
    out.push(...got.filter((r) => r.partition === partition))
  }
  await consumer.close()
  return out.slice(0, count)
}

describe('embedded log reads', () => {
  it('reads across rolled segments, from any offset, and finds timestamps like a brute-force scan', async () => {
    const dir = tempDir()
    const rnd = prng(7)
    const writer = await openEmbeddedLog({ dir, segmentBytes: 64 * 1024 })
    const expected = await fill(writer, 't', 3000, rnd)
    await writer.close()
    expect(segmentFiles(dir, 't', 0).length).toBeGreaterThan(5)

    // A fresh instance builds its sparse indexes lazily.
    const log = await openEmbeddedLog({ dir })
    const all = await readAll(log, 't')
    const sorted = [...expected].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    expect(all.map((r) => [r.partition, r.offset, r.value?.toString(), r.timestamp])).toEqual(sorted.map((e) => [e.partition, e.offset, e.value, e.timestamp]))

    for (let n = 0; n < 40; n++) {
      const partition = n % 2
      const offset = Math.floor(rnd() * 1500)
      const got = await readFrom(log, 't', partition, offset, 5)
      const want = sorted.filter((e) => e.partition === partition && e.offset >= offset).slice(0, 5)
      expect(got.map((r) => [r.offset, r.value?.toString()])).toEqual(want.map((e) => [e.offset, e.value]))
    }
    for (const t of [0, 1_000_000, 1_050_000, 1_099_999, 1_100_000, ...Array.from({ length: 30 }, () => 1_000_000 + Math.floor(rnd() * 100_000))]) {
      const found = await log.offsetsForTimestamp('t', t)
      expect(found.map((f) => f.offset)).toEqual([0, 1].map((p) => firstAtOrAfter(expected, p, t)))
    }
    await log.close()
  })

  it('round-trips records larger than a read chunk next to small ones', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir, segmentBytes: 4096 })
    const big = Buffer.alloc(2_500_000 + 17, 0x42)
    big.write('start', 0)
    const records: OutgoingRecord[] = [
      { topic: 'big', key: null, value: Buffer.from('small-1') },
      { topic: 'big', key: Buffer.alloc(70_000, 1), value: big, headers: { h: Buffer.alloc(1_200_000, 3) } },
      { topic: 'big', key: null, value: Buffer.from('small-2') },
    ]
    await log.append(records)
    await log.append([{ topic: 'big', key: null, value: big }])
    const got = await readAll(log, 'big')
    expect(got.map((r) => r.value?.length)).toEqual([7, big.length, 7, big.length])
    expect(got[1]!.value!.equals(big)).toBe(true)
    expect(got[1]!.key!.equals(records[1]!.key!)).toBe(true)
    expect(got[1]!.headers.h!.length).toBe(1_200_000)
    expect(await log.offsetsForTimestamp('big', 0)).toEqual([{ topic: 'big', partition: 0, offset: 0 }])
    await log.close()
  })

  it('wakes a waiting poll on an in-process append and respects maxWaitMs and maxBufferedRecords', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir })
    await log.ensureTopic('w', { partitions: 1 })
    const consumer = log.consumer({ group: null, topics: ['w'], maxBufferedRecords: 7 })
    let t0 = Date.now()
    expect(await consumer.poll({ maxWaitMs: 0 })).toEqual([])
    expect(await consumer.poll({ maxWaitMs: 120 })).toEqual([])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100)
    t0 = Date.now()
    const waiting = consumer.poll({ maxWaitMs: 10_000 })
    setTimeout(() => void log.append(Array.from({ length: 20 }, (_, i) => ({ topic: 'w', key: null, value: Buffer.from(`${i}`) }))), 30)
    const got = await waiting
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(got.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(consumer.caughtUp()).toBe(false)
    expect((await consumer.poll({ maxRecords: 100 })).map((r) => r.offset)).toEqual([7, 8, 9, 10, 11, 12, 13])
    await consumer.close()
    await log.close()
  })
})

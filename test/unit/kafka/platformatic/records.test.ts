import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../../../connectors/kafka/platformatic/group.ts'
import { committedRecords, type AbortedTransaction, type FetchedBatch } from '../../../../connectors/kafka/platformatic/records.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

/** A control record's key: version 0, then 0 (abort) or 1 (commit). */
const marker = (commit: boolean): Buffer => Buffer.from([0, 0, 0, commit ? 1 : 0])

type Step = { producer: number; kind: 'data'; n: number } | { producer: number; kind: 'end'; commit: boolean }

const steps = fc.array(
  fc.oneof(
    fc.record({ producer: fc.integer({ min: -1, max: 3 }), kind: fc.constant('data' as const), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ producer: fc.integer({ min: 1, max: 3 }), kind: fc.constant('end' as const), commit: fc.boolean() }),
  ),
  { maxLength: 40 },
)

/**
 * A partition's log as a broker writes it: plain batches (producer -1), transactional batches of
 * producers 1..3 and their commit or abort markers; the aborted transactions a fetch response
 * lists (with the offset of each abort marker); and what a read_committed reader must see (plain records and committed transactions').
 */
function buildLog(plan: Step[], closeWith: boolean): { batches: FetchedBatch[]; aborted: Array<AbortedTransaction & { marker: number }>; visible: number[] } {
  const batches: FetchedBatch[] = []
  const aborted: Array<AbortedTransaction & { marker: number }> = []
  const visible: number[] = []
  const open = new Map<number, { first: number; offsets: number[] }>()
  let offset = 0
  const end = (producer: number, commit: boolean): void => {
    const txn = open.get(producer)!
    open.delete(producer)
    batches.push({ firstOffset: BigInt(offset), attributes: CONTROL | TRANSACTIONAL, lastOffsetDelta: 0, firstTimestamp: 0n, maxTimestamp: 0n, producerId: BigInt(producer), records: [{ offsetDelta: 0, timestampDelta: 0n, key: marker(commit), value: null, headers: [] }] })
    if (commit) visible.push(...txn.offsets)
    else aborted.push({ producerId: BigInt(producer), firstOffset: BigInt(txn.first), marker: offset })
    offset++
  }
  for (const s of plan) {
    if (s.kind === 'end') {
      if (open.has(s.producer)) end(s.producer, s.commit)
      continue
    }
    const records = Array.from({ length: s.n }, (_, i) => ({ offsetDelta: i, timestampDelta: BigInt(i), key: null, value: Buffer.from(String(offset + i)), headers: [] }))
    const transactional = s.producer > 0
    batches.push({ firstOffset: BigInt(offset), attributes: transactional ? TRANSACTIONAL : 0, lastOffsetDelta: s.n - 1, firstTimestamp: 1000n, maxTimestamp: 1000n, producerId: BigInt(s.producer), records })
    const offsets = Array.from({ length: s.n }, (_, i) => offset + i)
    if (transactional) {
      const txn = open.get(s.producer) ?? { first: offset, offsets: [] }
      txn.offsets.push(...offsets)
      open.set(s.producer, txn)
    } else visible.push(...offsets)
    offset += s.n
  }
  // A read_committed fetch ends at the last stable offset: every transaction it returns has ended.
  for (const producer of [...open.keys()]) end(producer, closeWith)
  return { batches, aborted, visible: visible.sort((a, b) => a - b) }
}

describe('committedRecords (what a read_committed reader sees of fetched batches)', () => {
  it('keeps plain and committed records, drops aborted transactions and markers, from any start offset', () => {
    fc.assert(
      fc.property(steps, fc.boolean(), fc.nat(), (plan, closeWith, start) => {
        const { batches, aborted, visible } = buildLog(plan, closeWith)
        const total = batches.length === 0 ? 0 : Number(batches.at(-1)!.firstOffset) + batches.at(-1)!.lastOffsetDelta + 1
        const from = total === 0 ? 0 : start % (total + 1)
        // A fetch from `from` returns the batch holding it and every later one.
        const fetched = batches.filter((b) => Number(b.firstOffset) + b.lastOffsetDelta >= from)
        // The broker lists the aborted transactions that end at or after the fetch offset.
        const listed = aborted.filter((a) => a.marker >= from)
        const { records, next } = committedRecords('t', 2, fetched, listed, from)
        expect(records.map((r) => r.offset)).toEqual(visible.filter((o) => o >= from))
        for (const r of records) expect(r.value!.toString()).toBe(String(r.offset))
        expect(next).toBe(fetched.length === 0 ? from : total)
      }),
      { numRuns: 300 },
    )
  })

  it('reads headers by name (the last of a repeated name wins; a null value reads as absent) and the timestamps of the batch', () => {
    const batch: FetchedBatch = {
      firstOffset: 5n,
      attributes: 0,
      lastOffsetDelta: 0,
      firstTimestamp: 1_000n,
      maxTimestamp: 1_000n,
      producerId: -1n,
      records: [{ offsetDelta: 0, timestampDelta: 7n, key: Buffer.from('k'), value: null, headers: [[Buffer.from('a'), Buffer.from('1')], [Buffer.from('a'), Buffer.from('2')], [Buffer.from('b'), null]] }],
    }
    const [r] = committedRecords('t', 0, [batch], [], 0).records
    expect(r).toMatchObject({ topic: 't', partition: 0, offset: 5, timestamp: 1_007, key: Buffer.from('k'), value: null })
    expect(r!.headers).toEqual({ a: Buffer.from('2') })
  })
})

describe('consumer protocol encodings (JoinGroup subscription, SyncGroup assignment)', () => {
  const topic = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/)
  it('a subscription and an assignment decode to what was encoded', () => {
    fc.assert(
      fc.property(fc.uniqueArray(topic, { maxLength: 8 }), fc.array(fc.uniqueArray(fc.nat({ max: 1000 }), { maxLength: 10 }), { maxLength: 8 }), (topics, partitions) => {
        expect(decodeSubscription(encodeSubscription(topics))).toEqual(topics)
        const assignment = new Map(topics.map((t, i) => [t, partitions[i] ?? []]))
        expect(decodeAssignment(encodeAssignment(assignment))).toEqual([...assignment].flatMap(([t, ps]) => ps.map((partition) => ({ topic: t, partition }))))
      }),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { Handoff, toLogRecords, type HeldBatch } from '../../../../connectors/kafka/kafkajs/handoff.ts'
import type { LogRecord } from '../../../../runtime/log/log.ts'

const records = (partition: number, from: number, n: number): LogRecord[] =>
  Array.from({ length: n }, (_, i) => ({ topic: 't', partition, offset: from + i, timestamp: 0, key: null, value: Buffer.from(`${partition}:${from + i}`), headers: {} }))

function held(partition: number, from: number, n: number, lastOffset = from + n - 1): HeldBatch & { finished: Array<string | undefined>; reader: { position: number } } {
  const finished: Array<string | undefined> = []
  return { topic: 't', partition, records: records(partition, from, n), lastOffset: String(lastOffset), reader: { position: from }, next: 0, finish: (to) => finished.push(to), finished }
}

describe('Handoff (eachBatch → poll)', () => {
  it('hands out a fair share of every held batch, rotating which batch goes first', () => {
    const h = new Handoff()
    const a = held(0, 0, 10)
    const b = held(1, 100, 10)
    h.add(a)
    h.add(b)
    const first = h.take(6)
    expect(first.map((r) => `${r.partition}:${r.offset}`)).toEqual(['0:0', '0:1', '0:2', '1:100', '1:101', '1:102'])
    const second = h.take(4)
    expect(second.map((r) => r.partition)).toEqual([1, 1, 0, 0])
    expect(a.reader.position).toBe(5)
    expect(b.reader.position).toBe(105)
    expect(h.untaken()).toBe(10)
  })

  it('fills from other batches when one runs dry', () => {
    const h = new Handoff()
    h.add(held(0, 0, 2))
    h.add(held(1, 0, 10))
    expect(h.take(8)).toHaveLength(8)
    expect(h.untaken()).toBe(4)
  })

  it('ends a batch only at the poll after the one that took its last record, past trailing control records', () => {
    const h = new Handoff()
    const a = held(0, 0, 3, 3) // offset 3 is a transaction marker kafkajs filtered out
    h.add(a)
    h.releaseTaken()
    expect(a.finished).toEqual([])
    h.take(10)
    expect(a.finished).toEqual([])
    expect(a.reader.position).toBe(3)
    h.releaseTaken()
    expect(a.finished).toEqual(['3'])
    expect(a.reader.position).toBe(4)
    expect(h.size).toBe(0)
  })

  it('on release of everything, resolves what was handed out and drops the rest', () => {
    const h = new Handoff()
    const partial = held(0, 0, 5)
    const untouched = held(1, 0, 5)
    const whole = held(2, 0, 2)
    for (const b of [partial, untouched, whole]) h.add(b)
    partial.next = 2
    partial.reader.position = 2
    whole.next = 2
    h.releaseAll()
    expect(partial.finished).toEqual(['1'])
    expect(untouched.finished).toEqual([undefined])
    expect(whole.finished).toEqual(['1'])
    expect(h.size).toBe(0)
  })

  it('drops a partition without resolving anything (a seek replaces its position)', () => {
    const h = new Handoff()
    const a = held(0, 0, 5)
    const b = held(1, 0, 5)
    h.add(a)
    h.add(b)
    h.dropPartition('t', 0)
    expect(a.finished).toEqual([undefined])
    expect(b.finished).toEqual([])
    expect(h.take(100).every((r) => r.partition === 1)).toBe(true)
  })
})

describe('toLogRecords', () => {
  it('converts kafkajs messages: numeric offsets and timestamps, the last of repeated headers, Buffers everywhere', () => {
    const [r] = toLogRecords('t', 3, [
      { key: Buffer.from('k'), value: null, timestamp: '1700000000123', attributes: 0, offset: '42', headers: { a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y')], c: 'text' } },
    ])
    expect(r).toMatchObject({ topic: 't', partition: 3, offset: 42, timestamp: 1700000000123, value: null })
    expect(r!.key!.toString()).toBe('k')
    expect(Object.fromEntries(Object.entries(r!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ a: '1', b: 'y', c: 'text' })
    expect(Object.values(r!.headers).every((v) => Buffer.isBuffer(v))).toBe(true)
  })
})

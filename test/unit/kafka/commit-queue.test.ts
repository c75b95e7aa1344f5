import { describe, expect, it } from 'vitest'
import { CommitQueue, type UnitBackend } from '../../../connectors/kafka/commit-queue.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import type { OutgoingRecord, PartitionOffset } from '../../../runtime/log/log.ts'

/** A backend that records what reaches the "broker": units, their records and offsets, and what failed. */
function recordingBackend(options: { failClose?: (unit: number) => boolean; closeDelayMs?: number } = {}) {
  let next = 0
  let offset = 0
  const events: string[] = []
  const durable: Array<{ unit: number; records: number; offsets: string[] }> = []
  const sent = new Map<number, number>()
  let open = 0
  const backend: UnitBackend<number> = {
    open: async () => {
      const u = ++next
      if (open > 0) throw new Error('two units open at once')
      open++
      events.push(`open ${u}`)
      return u
    },
    send: async (u, records) => {
      sent.set(u, (sent.get(u) ?? 0) + records.length)
      return records.map((r) => ({ topic: r.topic, partition: 0, offset: offset++ }))
    },
    close: async (u, _group, offsets) => {
      if (options.closeDelayMs) await new Promise((r) => setTimeout(r, options.closeDelayMs))
      if (options.failClose?.(u)) throw new Error(`unit ${u} failed`)
      open--
      events.push(`close ${u}`)
      durable.push({ unit: u, records: sent.get(u) ?? 0, offsets: offsets.map((o) => `${o.partition}@${o.offset}`) })
    },
    fail: async (u, e) => {
      if (u !== undefined) open--
      events.push(`fail ${u ?? '-'}`)
      return e instanceof TributaryError ? e : new TributaryError('TRIB_KAFKA_TRANSACTION', String(e))
    },
  }
  return { backend, events, durable }
}

const records = (n: number): OutgoingRecord[] => Array.from({ length: n }, () => ({ topic: 'out', key: null, value: Buffer.from('v') }))
const at = (partition: number, offset: number): PartitionOffset[] => [{ topic: 'in', partition, offset }]

describe('CommitQueue', () => {
  it('groups commits into one unit until flushed: each resolves with its own positions once the unit is durable', async () => {
    const { backend, durable } = recordingBackend()
    const q = new CommitQueue(backend, { intervalMs: 60_000, maxRecords: 1000 })
    let resolved = 0
    const a = q.commit('g', records(2), at(0, 5)).then((p) => (resolved++, p))
    const b = q.commit('g', records(3), [...at(0, 9), ...at(1, 4)]).then((p) => (resolved++, p))
    await new Promise((r) => setTimeout(r, 20))
    expect(resolved).toBe(0)
    expect(q.pending).toBe(true)
    await q.flush()
    expect((await a).map((p) => p.offset)).toEqual([0, 1])
    expect((await b).map((p) => p.offset)).toEqual([2, 3, 4])
    // One unit: all records, and the last offset per partition.
    expect(durable).toEqual([{ unit: 1, records: 5, offsets: ['0@9', '1@4'] }])
  })

  it('ends a unit on its interval, on its size, and at once with interval 0; units end in order, one open at a time', async () => {
    const timed = recordingBackend()
    const q1 = new CommitQueue(timed.backend, { intervalMs: 30, maxRecords: 1000 })
    await Promise.all([q1.commit('g', records(1), at(0, 1)), q1.commit('g', records(1), at(0, 2))])
    expect(timed.durable).toHaveLength(1)

    const sized = recordingBackend({ closeDelayMs: 5 })
    const q2 = new CommitQueue(sized.backend, { intervalMs: 60_000, maxRecords: 3 })
    const all = [q2.commit('g', records(2), at(0, 1)), q2.commit('g', records(2), at(0, 2)), q2.commit('g', records(2), at(0, 3)), q2.commit('g', records(1), at(0, 4))]
    await q2.flush()
    await Promise.all(all)
    expect(sized.durable.map((d) => d.records)).toEqual([4, 3])
    expect(sized.events).toEqual(['open 1', 'close 1', 'open 2', 'close 2'])

    const each = recordingBackend()
    const q3 = new CommitQueue(each.backend, { intervalMs: 0, maxRecords: Infinity })
    await Promise.all([q3.commit('g', records(1), at(0, 1)), q3.commit('g', records(1), at(0, 2))])
    expect(each.durable.map((d) => d.offsets)).toEqual([['0@1'], ['0@2']])
  })

  it('after a failed unit: its commits and every later one fail, nothing after the failure becomes durable, and commits are refused until recover()', async () => {
    const { backend, durable, events } = recordingBackend({ failClose: (u) => u === 1, closeDelayMs: 5 })
    const q = new CommitQueue(backend, { intervalMs: 60_000, maxRecords: 1000 })
    const first = q.commit('g', records(1), at(0, 1))
    void q.flush()
    // Made while the first unit is closing: one flushed, one still open.
    const second = q.commit('g', records(1), at(0, 2))
    void q.flush()
    const third = q.commit('g', records(1), at(0, 3))
    const outcomes = await Promise.allSettled([first, second, third])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'TRIB_KAFKA_TRANSACTION' })
    await q.flush()
    expect(durable).toEqual([])
    expect(events).not.toContain('close 2')
    await expect(q.commit('g', records(1), at(0, 4))).rejects.toMatchObject({ code: 'TRIB_KAFKA_TRANSACTION' })

    q.recover()
    const again = q.commit('g', records(1), at(0, 1))
    await q.flush()
    await again
    expect(durable).toHaveLength(1)
    expect(durable[0]!.offsets).toEqual(['0@1'])
  })

  it('flush never rejects and resolves at once when nothing is pending', async () => {
    const { backend } = recordingBackend({ failClose: () => true })
    const q = new CommitQueue(backend, { intervalMs: 60_000, maxRecords: 1000 })
    await q.flush()
    const c = q.commit('g', records(1), at(0, 1))
    c.catch(() => undefined)
    await expect(q.flush()).resolves.toBeUndefined()
    await expect(c).rejects.toBeInstanceOf(TributaryError)
  })
})

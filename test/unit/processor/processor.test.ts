import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { Consumer, Log } from '../../../runtime/log/log.ts'
import { copy, drain, overriding, setup } from './ticks.ts'

/** The processor loop: what one step reads, commits and dead-letters. */
describe('the processor loop', () => {
  it('commits the outputs with the input offsets they cover, in one step', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    const p = await s.processor(copy)
    expect(await p.step(0)).toBe(2)
    await p.flush()
    expect(s.outputs()).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ])
    expect(await s.committed()).toBe(2)
  })

  it('a failed commit leaves neither outputs nor offsets, and the restarted processor emits each record once', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    // A log whose first commit fails: were outputs written apart from the offsets, they would be
    // there after the failure, and again after the restart.
    let failures = 1
    const faultyCommit = (c: Consumer) => (step: Parameters<Consumer['commit']>[0]) => (failures-- > 0 ? Promise.reject(new Error('commit lost')) : c.commit(step))
    const faulty = overriding(s.log, { consumer: (o: Parameters<Log['consumer']>[0]) => {
      const c = s.log.consumer(o)
      return overriding(c, { commit: faultyCommit(c) })
    } })
    const first = await s.processor(copy, faulty)
    await expect((async () => {
      await first.step(0)
      await first.flush()
    })()).rejects.toThrow(/commit lost/)
    expect(s.outputs()).toEqual([])
    expect(await s.committed()).toBe(0)
    await first.close()
    const second = await s.processor(copy)
    await drain(second)
    expect(s.outputs().map((o) => o.id)).toEqual([1, 2])
    expect(await s.committed()).toBe(2)
  })

  it('dead-letters bad records with code, stage and source offset, in the same commit, and goes on', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, 'not json', { id: 'x', note: 'b' }, { id: 4, note: 'throw' }, { id: 5, note: 'e' })
    const p = await s.processor({
      transform: (r: { value: { note: string } }) => {
        if (r.value.note === 'throw') throw new Error('no such note')
        return { port: 'out', value: r.value }
      },
    })
    await drain(p)
    expect(s.outputs().map((o) => o.id)).toEqual([1, 5])
    expect(s.deadLetters()).toEqual([
      { code: 'TRIB_DECODE_JSON', stage: 'decode', offset: '1', value: 'not json' },
      { code: 'TRIB_VALIDATE_TYPE', stage: 'validate', offset: '2', value: '{"id":"x","note":"b"}' },
      { code: 'TRIB_TRANSFORM_FAILED', stage: 'transform', offset: '3', value: '{"id":4,"note":"throw"}' },
    ])
    expect(await s.committed()).toBe(5)
  })

  it('a transform output that does not fit the port schema is an encode dead letter', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' })
    const p = await s.processor({ transform: () => ({ port: 'out', value: { id: 'not a long', note: 'a' } }) })
    await drain(p)
    expect(s.outputs()).toEqual([])
    expect(s.deadLetters()).toEqual([{ code: 'TRIB_ENCODE_FAILED', stage: 'encode', offset: '0', value: '{"id":1,"note":"a"}' }])
  })

  it('a transform that does not settle within transformTimeout is dead-lettered TRIB_TRANSFORM_TIMEOUT; later records go on', async () => {
    const s = await setup({ processing: '{ transformTimeout: 100ms }' })
    await s.send({ id: 1, note: 'hang' }, { id: 2, note: 'b' })
    const p = await s.processor({ transform: (r: { value: { note: string } }) => (r.value.note === 'hang' ? new Promise(() => {}) : { port: 'out', value: r.value }) })
    await drain(p)
    expect(s.outputs().map((o) => o.id)).toEqual([2])
    expect(s.deadLetters()).toEqual([{ code: 'TRIB_TRANSFORM_TIMEOUT', stage: 'transform', offset: '0', value: '{"id":1,"note":"hang"}' }])
    expect(await s.committed()).toBe(2)
  })

  it('a stop requested while a poll waits leaves what it returns unprocessed and uncommitted, for the next start', async () => {
    const s = await setup()
    const p = await s.processor(copy)
    const polled = p.step(5_000)
    await sleep(50)
    p.requestStop()
    await s.send({ id: 1, note: 'a' })
    expect(await polled).toBe(0)
    // Nothing more is read once stopped, either.
    expect(s.outputs()).toEqual([])
    expect(await s.committed()).toBe(0)
    await p.close()
    const next = await s.processor(copy)
    await drain(next)
    expect(s.outputs()).toEqual([{ id: 1, note: 'a' }])
    expect(await s.committed()).toBe(1)
  })
})


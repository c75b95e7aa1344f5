import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { CallDeadline } from '../../../runtime/processor/deadline.ts'

describe('CallDeadline', () => {
  let deadline: CallDeadline | undefined
  afterEach(() => deadline?.close())

  it('passes results and failures through, and gives up a call that does not settle in time', async () => {
    deadline = new CallDeadline(80)
    expect(await deadline.wait(Promise.resolve(7))).toEqual({ kind: 'done', value: 7 })
    const boom = new Error('boom')
    expect(await deadline.wait(Promise.reject(boom))).toEqual({ kind: 'failed', error: boom })
    const started = Date.now()
    expect(await deadline.wait(new Promise(() => {}))).toEqual({ kind: 'timeout' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(70)
    // A late result of a given-up call changes nothing; the next call gets its own full time.
    await sleep(100)
    expect(await deadline.wait(sleep(40).then(() => 'slow but in time'))).toEqual({ kind: 'done', value: 'slow but in time' })
  })

  it('measures each call from its own start, and never stops a call unless asked to', async () => {
    deadline = new CallDeadline(100, 30)
    // Longer than the grace, within the timeout: no stop was asked for.
    expect(await deadline.wait(sleep(60).then(() => 2))).toEqual({ kind: 'done', value: 2 })
    await sleep(160)
    expect(await deadline.wait(sleep(60).then(() => 1))).toEqual({ kind: 'done', value: 1 })
  })

  it('once stopping, ends a pending call after the grace, not the timeout', async () => {
    deadline = new CallDeadline(60_000, 50)
    const started = Date.now()
    const pending = deadline.wait(new Promise(() => {}))
    await sleep(20)
    deadline.stop()
    expect(await pending).toEqual({ kind: 'stopped' })
    expect(Date.now() - started).toBeLessThan(1_000)
    // Later calls that settle within the grace still count.
    expect(await deadline.wait(Promise.resolve('done'))).toEqual({ kind: 'done', value: 'done' })
  })
})

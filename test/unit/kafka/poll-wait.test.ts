import { describe, expect, it, vi } from 'vitest'
import { PollWait } from '../../../connectors/kafka/poll-wait.ts'

describe('PollWait', () => {
  const never = () => Promise.resolve(false)

  it('waits until maxWaitMs when nothing is known to be left, in steps of at most 100 ms', async () => {
    const wait = new PollWait(250)
    const ms = await wait.next(() => true, never)
    expect(ms).toBeGreaterThan(0)
    expect(ms).toBeLessThanOrEqual(100)
  })

  it('keeps waiting past maxWaitMs while records are known to exist, up to a grace of 1 s', async () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const wait = new PollWait(0)
      expect(await wait.next(() => false, never)).toBe(100)
      vi.setSystemTime(950)
      expect(await wait.next(() => false, never)).toBe(50)
      vi.setSystemTime(1000)
      expect(await wait.next(() => false, never)).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a poll that returns at once reads the ends once before saying caught up, and looks again when one moved', async () => {
    const moved = vi.fn(() => Promise.resolve(true))
    const wait = new PollWait(0)
    expect(await wait.next(() => true, moved)).toBe(1)
    expect(await wait.next(() => true, moved)).toBe(0)
    expect(moved).toHaveBeenCalledTimes(1)
    const still = vi.fn(never)
    expect(await new PollWait(0).next(() => true, still)).toBe(0)
    expect(still).toHaveBeenCalledTimes(1)
  })

  it('a poll with a wait does not read the ends: only a drain poll (maxWaitMs 0) asks', async () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const read = vi.fn(never)
      const wait = new PollWait(200)
      vi.setSystemTime(200)
      expect(await wait.next(() => true, read)).toBe(0)
      expect(read).not.toHaveBeenCalled()
    } finally {
      vi.useRealTimers()
    }
  })
})

import { describe, expect, it } from 'vitest'
import { formatProgress, progressBar } from '../../../runtime/cli/progress.ts'

const fakeStream = (isTTY: boolean) => {
  const writes: string[] = []
  return { isTTY, writes, write: (t: string) => writes.push(t) }
}

describe('progress bar', () => {
  it('draws nothing when stderr is not a terminal', () => {
    const stream = fakeStream(false)
    const bar = progressBar('working', { stream, total: 10 })
    expect(bar.active).toBe(false)
    bar.update(5)
    bar.done('finished')
    expect(stream.writes).toEqual([])
  })

  it('redraws one line on a terminal, at most every 100 ms, and clears it at the end', () => {
    const stream = fakeStream(true)
    let now = 1_000_000
    const bar = progressBar('working', { stream, total: 100, now: () => now })
    now += 1000
    bar.update(10)
    now += 50
    bar.update(20) // too soon: not drawn
    now += 100
    bar.update(30)
    bar.done()
    expect(stream.writes).toHaveLength(3)
    expect(stream.writes[0]).toMatch(/^\r\x1b\[2Kworking \[#{2}\.{22}\] 10% 10\/100 records/)
    expect(stream.writes[1]).toMatch(/ 30% 30\/100 records /)
    expect(stream.writes[2]).toBe('\r\x1b[2K')
  })

  it('shows share, rate and time left, or a count without a total', () => {
    expect(formatProgress('p', 500, 1000, 10)).toBe('p [############............] 50% 500/1,000 records 50/s 10s left')
    expect(formatProgress('p', 12_000, undefined, 2)).toBe('p 12,000 records 6.0k/s')
    expect(formatProgress('up', 3 << 20, 6 << 20, 1, 'bytes')).toBe('up [############............] 50% 3.0 MiB/6.0 MiB 3.0 MiB/s 1s left')
    expect(formatProgress('p', 1000, 1000, 1)).toBe('p [########################] 100% 1,000/1,000 records 1.0k/s')
  })
})

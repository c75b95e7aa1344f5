import { describe, expect, it } from 'vitest'
import { bigIntToBytes, bytesToDecimalAt, formatDecimal } from '../../../runtime/codec/values/decimal.ts'
import { formatDate, formatTimestamp, parseCanonicalTimestamp, parseDate } from '../../../runtime/codec/values/temporal.ts'

const iso = (ms: number): string => new Date(ms).toISOString() // the reference for years 0000..9999

describe('date and timestamp text (memoized, table-driven)', () => {
  it('formats dates like Date, also for days that share a memo slot', () => {
    const slots = 1 << 15
    for (const days of [0, -1, 1, 19_675, 19_675 + slots, 19_675 - slots, -719_162, 2_932_896, 12_345, 12_345 + 3 * slots]) {
      expect(formatDate(days)).toBe(iso(days * 86_400_000).slice(0, 10))
      expect(parseDate(formatDate(days))).toBe(days)
    }
    expect(formatDate(-719_529)).toBe('-000001-12-31')
  })

  it('formats millisecond and microsecond timestamps like Date, and parses them back', () => {
    let seed = 3
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    for (let k = 0; k < 2000; k++) {
      const ms = Math.floor((rand() - 0.3) * 4e12)
      const micros = ms * 1000 + Math.floor(rand() * 1000)
      expect(formatTimestamp(ms, 3, true)).toBe(iso(ms))
      expect(formatTimestamp(ms, 3, false)).toBe(iso(ms).slice(0, -1))
      const text = formatTimestamp(micros, 6, true)
      expect(text).toBe(`${iso(Math.floor(micros / 1000)).slice(0, -1)}${String(((micros % 1000) + 1000) % 1000).padStart(3, '0')}Z`)
      expect(parseCanonicalTimestamp(text, 6, true)).toBe(micros)
      expect(parseCanonicalTimestamp(formatTimestamp(ms, 3, true), 3, true)).toBe(ms)
    }
    expect(formatTimestamp(1_700_000_000_123_456_789n, 9, true)).toBe('2023-11-14T22:13:20.123456789Z')
  })

  it('refuses non-canonical timestamp text on the fast parse', () => {
    for (const bad of ['2023-11-14T22:13:20.123Z', '2023-13-14T22:13:20.123456Z', '2023-11-14T24:13:20.123456Z', '2023-11-14T22:13:2x.123456Z', '2023-02-30T00:00:00.000000Z']) {
      expect(parseCanonicalTimestamp(bad, 6, true)).toBeUndefined()
    }
  })
})

describe('decimal text from bytes', () => {
  it('equals the bigint formatting for every length and scale', () => {
    let seed = 11
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const values = [0n, -1n, 1n, 99n, -100n, 2n ** 47n - 1n, -(2n ** 47n)]
    for (let k = 0; k < 2000; k++) values.push(BigInt(Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 47)))))
    for (const n of values) {
      const bytes = bigIntToBytes(n)!
      const padded = Buffer.concat([Buffer.from([9, 9]), bytes])
      for (const scale of [0, 1, 2, 3, 6, 15, 16]) expect(bytesToDecimalAt(padded, 2, padded.length, scale)).toBe(formatDecimal(n, scale))
    }
  })
})

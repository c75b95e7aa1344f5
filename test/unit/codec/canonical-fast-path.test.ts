import { describe, expect, it } from 'vitest'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { formatDate, formatTimestamp, parseCanonicalTimestamp, parseDate, parseTimestamp } from '../../../runtime/codec/values/temporal.ts'
import { conform } from '../../../runtime/codec/types/conform.ts'

/** The char-code fast paths must agree exactly with the general parsers they short-cut. */
describe('canonical fast paths', () => {
  it('parse canonical timestamps exactly like the general parser, and only those', () => {
    let seed = 7
    const next = () => (seed = (seed * 48271) % 2147483647)
    for (let i = 0; i < 5000; i++) {
      const micros = (next() - 1e9) * 1_000_003 + (next() % 1_000_000)
      for (const [digits, value] of [[6, micros], [3, Math.trunc(micros / 1000)]] as const) {
        const text = formatTimestamp(value, digits, true)
        expect(parseCanonicalTimestamp(text, digits, true)).toBe(value)
        expect(parseTimestamp(text, digits, true)).toBe(value)
      }
      const days = (next() % 200_000) - 100_000
      expect(parseDate(formatDate(days))).toBe(days)
    }
    for (const bad of ['2026-13-01T00:00:00.000Z', '2026-02-30T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-01 00:00:00.000Z', '2026-01-01T00:00:00.00aZ', '2026-01-01T00:00:00.000+', '+2026-01-01T00:00:00.00Z'])
      expect(parseCanonicalTimestamp(bad, 3, true)).toBeUndefined()
    expect(parseCanonicalTimestamp('2026-01-01T00:00:00.000', 3, false)).toBe(Date.parse('2026-01-01T00:00:00Z'))
  })

  it('conform keeps canonical strings as they are and still normalizes the rest', () => {
    const type = createType({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'd', type: { type: 'int', logicalType: 'date' } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
        { name: 'small', type: { type: 'bytes', logicalType: 'decimal', precision: 2, scale: 2 } },
        { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      ],
    })
    const canonical = { ts: '2026-11-01T08:00:00.000001Z', d: '2026-11-01', amount: '-1234.50', small: '0.05', id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' }
    expect(conform(type, canonical)).toEqual(canonical)
    expect(conform(type, { ts: '2026-11-01T09:00:00.5+01:00', d: '2026-11-01', amount: '-0001234.5', small: '0.050', id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' })).toEqual({
      ...canonical,
      ts: '2026-11-01T08:00:00.500000Z',
    })
    expect(() => conform(type, { ...canonical, amount: '12345.00' })).toThrow(/amount/)
    expect(() => conform(type, { ...canonical, small: '1.00' })).toThrow(/small/)
    expect((conform(type, { ...canonical, amount: '-0.00' }) as { amount: string }).amount).toBe('0.00')
  })
})

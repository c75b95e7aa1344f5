import { describe, expect, it } from 'vitest'
import {
  bigintFromTwosComplement,
  converterFor,
  formatDate,
  formatTime,
  formatTimestamp,
  formatUnscaled,
  kindOfConnectName,
  kindOfLogicalType,
} from '../../../../runtime/codec/debezium/semantic.ts'
import { toDecimalBytes, toEpochDays, toEpochUnits, toTimeOfDay, toVariableScaleDecimal, twosComplement } from '../../../../products/sample-data/debezium/wire.ts'

const conv = (kind: Parameters<typeof converterFor>[0], scale = 0) => {
  const c = converterFor(kind, scale)
  if (c === undefined) throw new Error(`no converter for ${kind}`)
  return c
}

describe('dates and times', () => {
  it.each([
    [19675, '2023-11-14'],
    [0, '1970-01-01'],
    [-1, '1969-12-31'],
    [-719528, '0000-01-01'],
    [2932896, '9999-12-31'],
  ])('date %i -> %s', (days, text) => {
    expect(formatDate(days)).toBe(text)
    expect(toEpochDays(text)).toBe(days)
  })

  it('formats times of day at each precision', () => {
    expect(formatTime(49_000_123, 3)).toBe('13:36:40.123')
    expect(formatTime(49_000_123_456, 6)).toBe('13:36:40.123456')
    expect(formatTime(49_000_123_456_789n, 9)).toBe('13:36:40.123456789')
    expect(formatTime(0, 6)).toBe('00:00:00.000000')
    expect(formatTime(86_400_000, 3)).toBe('24:00:00.000') // PostgreSQL allows 24:00
    expect(() => formatTime(86_400_001, 3)).toThrow(/not a time of day/)
    expect(() => formatTime(-1, 3)).toThrow(/not a time of day/)
  })

  it('formats timestamps exactly, including before the epoch', () => {
    expect(formatTimestamp(1_700_000_000_123, 3, true)).toBe('2023-11-14T22:13:20.123Z')
    expect(formatTimestamp(1_700_000_000_123_456, 6, true)).toBe('2023-11-14T22:13:20.123456Z')
    expect(formatTimestamp(1_700_000_000_123_456_789n, 9, true)).toBe('2023-11-14T22:13:20.123456789Z')
    expect(formatTimestamp(-1, 6, true)).toBe('1969-12-31T23:59:59.999999Z')
    expect(formatTimestamp(-1n, 9, true)).toBe('1969-12-31T23:59:59.999999999Z')
    expect(formatTimestamp(-1, 3, false)).toBe('1969-12-31T23:59:59.999')
    // Near 2^53 microseconds a float division would lose the last digit.
    expect(formatTimestamp(9_007_199_254_740_991, 6, true)).toBe('2255-06-05T23:47:34.740991Z')
  })

  it('rejects non-integer wire values and reads every int64 exactly', () => {
    expect(() => conv('ts-us')(1.5)).toThrow(/64-bit integer/)
    expect(() => conv('ts-us')(2 ** 60)).toThrow(/64-bit integer/) // a number beyond 2^53 may be rounded already
    expect(() => conv('ts-us')(2n ** 63n)).toThrow(/64-bit integer/)
    expect(() => conv('date')('2023-11-14')).toThrow(/32-bit integer/)
    // Timestamps after 2262 (nanos) and 2255 (micros) are exact, as bigints on the wire.
    expect(conv('ts-us')(2n ** 60n)).toBe('+038504-08-17T21:30:06.846976Z') // JS Date: +038504-08-17T21:30:06.846Z
    expect(conv('ts-ns')(2n ** 62n)).toBe('2116-02-20T23:53:38.427387904Z')
    expect(conv('ts-ms')(8.64e15 + 1000)).toBe('+275760-09-13T00:00:01.000Z')
  })

  it('parses canonical text back to wire units (build direction)', () => {
    expect(toEpochUnits('2023-11-14T22:13:20.123456789Z', 9)).toBe(1_700_000_000_123_456_789n)
    expect(toEpochUnits('2023-11-14T22:13:20.123456Z', 6)).toBe(1_700_000_000_123_456)
    expect(toEpochUnits('2023-11-14T23:13:20.5+01:00', 3)).toBe(1_700_000_000_500)
    expect(toEpochUnits(new Date(1_700_000_000_123), 6)).toBe(1_700_000_000_123_000)
    expect(() => toEpochUnits('2023-11-14T22:13:20.1234Z', 3)).toThrow(/precision/)
    expect(toTimeOfDay('13:36:40.123456789', 9)).toBe(49_000_123_456_789)
    expect(toEpochDays('0050-03-01')).toBe(-701_206)
    expect(() => toEpochDays('2023-02-30')).toThrow(/not a valid date/)
  })
})

describe('decimals', () => {
  it.each([
    ['3039', 2, '123.45'],
    ['ff', 3, '-0.001'],
    ['00', 2, '0.00'],
    ['', 0, '0'],
    ['fb1e', 2, '-12.50'],
    ['0080', 0, '128'],
    ['ff7f', 1, '-12.9'],
    ['7fffffffffffffffffff', 4, '60446290980731458735.3087'],
    ['80000000000000000000', 0, '-604462909807314587353088'],
  ])('bytes %s at scale %i -> %s', (hex, scale, text) => {
    const bytes = Buffer.from(hex, 'hex')
    expect(conv('decimal', scale)(bytes)).toBe(text)
    if (hex !== '') expect(toDecimalBytes(text, scale).toString('hex')).toBe(hex) // minimal two's complement
  })

  it('handles negative scales and padding', () => {
    expect(formatUnscaled(5n, -2)).toBe('500')
    expect(formatUnscaled(5n, 4)).toBe('0.0005')
    expect(formatUnscaled(-5n, 4)).toBe('-0.0005')
  })

  it('reads a VariableScaleDecimal struct', () => {
    expect(conv('variable-decimal')({ scale: 4, value: Buffer.from('7ab7', 'hex') })).toBe('3.1415')
    expect(toVariableScaleDecimal('3.1415')).toEqual({ scale: 4, value: Buffer.from('7ab7', 'hex') })
    expect(() => conv('variable-decimal')({ scale: 'x', value: Buffer.alloc(1) })).toThrow(/32-bit integer/)
  })

  it('round-trips random values through two’s complement', () => {
    for (let i = 0; i < 500; i++) {
      const n = BigInt(Math.floor((Math.random() - 0.5) * 2 ** 52)) * BigInt(1 + Math.floor(Math.random() * 1000))
      expect(bigintFromTwosComplement(twosComplement(n))).toBe(n)
    }
  })

  it('refuses decimals with more fraction digits than the scale', () => {
    expect(() => toDecimalBytes('1.234', 2)).toThrow(/more than 2 fraction digits/)
    expect(toDecimalBytes('1.230', 2).toString('hex')).toBe('7b')
    expect(() => toDecimalBytes(1.5, 2)).toThrow(/decimal string/)
  })
})

describe('other semantic types', () => {
  it('maps Connect names and Avro logical types to kinds', () => {
    expect(kindOfConnectName('io.debezium.time.NanoTimestamp')).toBe('ts-ns')
    expect(kindOfConnectName('org.apache.kafka.connect.data.Timestamp')).toBe('ts-ms')
    expect(kindOfConnectName('io.debezium.time.ZonedTimestamp')).toBe('as-is')
    expect(kindOfConnectName('io.debezium.time.MicroDuration')).toBe('duration-us')
    expect(kindOfConnectName('io.debezium.time.Interval')).toBeUndefined()
    expect(kindOfLogicalType('timestamp-micros')).toBe('ts-us')
    expect(converterFor('as-is')).toBeUndefined()
  })

  it('keeps Json as checked JSON text and lowercases Uuid', () => {
    expect(conv('json')('{"a":[1,"x"],"b":null}')).toBe('{"a":[1,"x"],"b":null}')
    expect(conv('json')('"scalar"')).toBe('"scalar"')
    expect(() => conv('json')('{bad')).toThrow()
    expect(conv('uuid')('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
  })
})

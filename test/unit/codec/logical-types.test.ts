import { describe, expect, it } from 'vitest'
import { isTributaryError } from '../../../runtime/errors.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'

const roundTrip = (schema: object, value: unknown): unknown => {
  const type = createType(schema)
  return type.fromBuffer(type.toBuffer(value))
}
const wire = (schema: object, value: unknown): unknown => {
  // The value as the underlying type stores it: decode the same bytes without logical types.
  const bytes = createType(schema).toBuffer(value)
  const { logicalType: _drop, ...plain } = schema as Record<string, unknown>
  return createType(plain).fromBuffer(bytes)
}

const date = { type: 'int', logicalType: 'date' }
const timeMillis = { type: 'int', logicalType: 'time-millis' }
const timeMicros = { type: 'long', logicalType: 'time-micros' }
const tsMillis = { type: 'long', logicalType: 'timestamp-millis' }
const tsMicros = { type: 'long', logicalType: 'timestamp-micros' }
const localMillis = { type: 'long', logicalType: 'local-timestamp-millis' }
const localMicros = { type: 'long', logicalType: 'local-timestamp-micros' }
const decimal = (precision: number, scale?: number) => ({ type: 'bytes', logicalType: 'decimal', precision, ...(scale === undefined ? {} : { scale }) })

describe('dates and times', () => {
  it.each([
    ['1970-01-01', 0],
    ['2023-11-14', 19675],
    ['1969-12-31', -1],
    ['1900-03-01', -25508],
    ['0001-01-01', -719162],
  ])('date %s is day %d', (text, days) => {
    expect(wire(date, text)).toBe(days)
    expect(roundTrip(date, text)).toBe(text)
  })

  it('date accepts a Date and a day count', () => {
    expect(roundTrip(date, new Date(Date.UTC(2023, 10, 14, 15)))).toBe('2023-11-14')
    expect(roundTrip(date, 19675)).toBe('2023-11-14')
  })

  it('time-millis and time-micros keep their precision', () => {
    expect(wire(timeMillis, '12:34:56.789')).toBe(45_296_789)
    expect(roundTrip(timeMillis, '00:00:00.000')).toBe('00:00:00.000')
    expect(roundTrip(timeMillis, '23:59:59')).toBe('23:59:59.000')
    expect(wire(timeMicros, '12:34:56.789012')).toBe(45_296_789_012)
    expect(roundTrip(timeMicros, '12:34:56.789012')).toBe('12:34:56.789012')
    expect(roundTrip(timeMicros, 1)).toBe('00:00:00.000001')
  })

  it('timestamps: canonical ISO UTC strings with 3 or 6 digits', () => {
    expect(wire(tsMillis, '2023-11-14T22:13:20.123Z')).toBe(1_700_000_000_123)
    expect(roundTrip(tsMillis, 1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z')
    expect(wire(tsMicros, '2023-11-14T22:13:20.123456Z')).toBe(1_700_000_000_123_456)
    expect(roundTrip(tsMicros, '2023-11-14T22:13:20.123456Z')).toBe('2023-11-14T22:13:20.123456Z')
  })

  it('timestamps before 1970', () => {
    expect(wire(tsMillis, '1969-12-31T23:59:59.999Z')).toBe(-1)
    expect(roundTrip(tsMicros, -1)).toBe('1969-12-31T23:59:59.999999Z')
    expect(roundTrip(tsMicros, '1900-01-01T00:00:00.000001Z')).toBe('1900-01-01T00:00:00.000001Z')
    expect(wire(tsMicros, '1900-01-01T00:00:00.000001Z')).toBe(-2_208_988_799_999_999)
  })

  it('timestamps accept offsets, Dates and fewer digits, normalizing to UTC', () => {
    expect(roundTrip(tsMillis, '2023-11-15T00:13:20.5+02:00')).toBe('2023-11-14T22:13:20.500Z')
    expect(roundTrip(tsMicros, new Date(1_700_000_000_123))).toBe('2023-11-14T22:13:20.123000Z')
  })

  it('local timestamps have no zone', () => {
    expect(roundTrip(localMillis, '2023-11-14T22:13:20.123')).toBe('2023-11-14T22:13:20.123')
    expect(roundTrip(localMicros, '2023-11-14T22:13:20.123456')).toBe('2023-11-14T22:13:20.123456')
    expect(createType(localMillis).isValid('2023-11-14T22:13:20.123Z')).toBe(false)
    expect(createType(tsMillis).isValid('2023-11-14T22:13:20.123')).toBe(false)
  })

  it('refuses impossible or lossy values instead of rounding', () => {
    const ts = createType(tsMillis)
    expect(ts.isValid('2023-02-30T00:00:00.000Z')).toBe(false)
    expect(ts.isValid('2023-11-14T22:13:20.1234Z')).toBe(false) // micros in a millis field
    expect(ts.isValid('2023-11-14T22:13:20.1230Z')).toBe(true) // trailing zero is exact
    expect(ts.isValid('yesterday')).toBe(false)
    expect(createType(date).isValid('2023-13-01')).toBe(false)
    // PostgreSQL's end of day is a time of day; nothing after it is.
    expect(createType(timeMillis).isValid('24:00:00')).toBe(true)
    expect(createType(timeMillis).isValid('24:00:00.001')).toBe(false)
    expect(createType(timeMillis).isValid('25:00:00')).toBe(false)
    expect(createType(timeMicros).isValid(86_400_000_001)).toBe(false)
  })
})

describe('decimal', () => {
  it.each([
    ['12.50', 10, 2, '04e2'],
    ['-12.50', 10, 2, 'fb1e'],
    ['-0.01', 10, 2, 'ff'],
    ['0.00', 10, 2, '00'],
    ['1.27', 10, 2, '7f'],
    ['1.28', 10, 2, '0080'],
    ['-1.28', 10, 2, '80'],
    ['123456789', 9, 0, '075bcd15'],
    ['-5', 3, 0, 'fb'],
  ])('%s (precision %d, scale %d) is two’s complement %s', (text, precision, scale, hex) => {
    const schema = decimal(precision, scale)
    expect((wire(schema, text) as Buffer).toString('hex')).toBe(hex)
    expect(roundTrip(schema, text)).toBe(text)
  })

  it('pads to exactly `scale` digits and keeps scale 0 without a point', () => {
    expect(roundTrip(decimal(10, 3), '1.5')).toBe('1.500')
    expect(roundTrip(decimal(10, 3), '-0.001')).toBe('-0.001')
    expect(roundTrip(decimal(5), '42')).toBe('42')
    expect(roundTrip(decimal(5), '42.000')).toBe('42')
  })

  it('is exact beyond 2^53', () => {
    const big = '123456789012345678901234567.89'
    expect(roundTrip(decimal(38, 2), big)).toBe(big)
    expect(roundTrip(decimal(38, 2), `-${big}`)).toBe(`-${big}`)
  })

  it('on fixed: sign-extended to the size', () => {
    const schema = { type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 18, scale: 4 }
    expect((wire(schema, '-1.0000') as Buffer).toString('hex')).toBe('ffffffffffffd8f0')
    expect(roundTrip(schema, '-1.0000')).toBe('-1.0000')
    expect(roundTrip(schema, '99999999999999.9999')).toBe('99999999999999.9999')
  })

  it('refuses numbers, lost digits and precision overflow', () => {
    const t = createType(decimal(4, 2))
    expect(t.isValid(12.5)).toBe(false)
    expect(t.isValid(BigInt(12))).toBe(false)
    expect(t.isValid('1.234')).toBe(false)
    expect(t.isValid('123.45')).toBe(false)
    expect(t.isValid('99.99')).toBe(true)
    expect(t.isValid('1e3')).toBe(false)
  })

  it('an invalid decimal falls back to its underlying type (Avro spec)', () => {
    const t = createType({ type: 'bytes', logicalType: 'decimal', precision: 0 })
    expect(t.typeName).toBe('bytes')
  })
})

describe('uuid', () => {
  it('is a lowercase string', () => {
    const schema = { type: 'string', logicalType: 'uuid' }
    expect(roundTrip(schema, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    expect(createType(schema).isValid('not-a-uuid')).toBe(false)
  })

  it('also on fixed(16)', () => {
    const schema = { type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' }
    expect(roundTrip(schema, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
  })
})

describe('in records, unions and resolution', () => {
  it('a nullable timestamp in a union', () => {
    const schema = { type: 'record', name: 'E', fields: [{ name: 'at', type: ['null', tsMicros], default: null }] }
    expect(roundTrip(schema, { at: '2023-11-14T22:13:20.000001Z' })).toEqual({ at: '2023-11-14T22:13:20.000001Z' })
    expect(roundTrip(schema, { at: null })).toEqual({ at: null })
    expect(roundTrip(schema, {})).toEqual({ at: null })
  })

  it('widens millis to micros and decimal scale exactly, and refuses narrowing', () => {
    const millis = createType(tsMillis)
    const micros = createType(tsMicros)
    const bytes = millis.toBuffer('2023-11-14T22:13:20.123Z')
    expect(micros.fromBuffer(bytes, micros.createResolver(millis))).toBe('2023-11-14T22:13:20.123000Z')
    expect(() => millis.createResolver(micros)).toThrow()
    const d2 = createType(decimal(6, 2))
    const d4 = createType(decimal(8, 4))
    expect(d4.fromBuffer(d2.toBuffer('-12.50'), d4.createResolver(d2))).toBe('-12.5000')
    expect(() => d2.createResolver(d4)).toThrow()
  })

  it('reads a plain writer long as the reader’s unit (Avro spec)', () => {
    const micros = createType(tsMicros)
    const plain = createType('long')
    expect(micros.fromBuffer(plain.toBuffer(1), micros.createResolver(plain))).toBe('1970-01-01T00:00:00.000001Z')
  })

  it('createType reports an unusable schema as TRIB_SCHEMA_INVALID', () => {
    const ambiguous = ['null', { type: 'record', name: 'A', fields: [] }, { type: 'record', name: 'B', fields: [] }]
    expect(() => createType(ambiguous)).toThrow(expect.objectContaining({ code: 'TRIB_SCHEMA_INVALID' }))
    try {
      createType('{not json')
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_SCHEMA_INVALID')).toBe(true)
    }
  })
})

describe('decimal fast paths agree with the bigint paths', () => {
  it('for random values of 1 to 20 digits at several scales and sizes', async () => {
    const { bigIntToBytes, bytesToBigInt, bytesToDecimal, decimalToBytes, formatDecimal, parseDecimal } = await import('../../../runtime/codec/values/decimal.ts')
    let seed = 42
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const edges = ['0', '1', '-1', '127', '-128', '128', '-129', '140737488355327', '-140737488355328', '140737488355328', '99999999999999', '-99999999999999']
    const values = [...edges]
    for (let i = 0; i < 2000; i++) {
      const length = 1 + Math.floor(random() * 20)
      let digits = ''
      for (let j = 0; j < length; j++) digits += String(Math.floor(random() * 10))
      values.push(random() < 0.5 ? `-${digits}` : digits)
    }
    for (const unscaledText of values) {
      for (const scale of [0, 2, 5]) {
        const unscaled = BigInt(unscaledText)
        const text = formatDecimal(unscaled, scale)
        expect(parseDecimal(text, scale)).toBe(unscaled)
        for (const size of [undefined, 9]) {
          const expected = bigIntToBytes(unscaled, size)
          expect(decimalToBytes(text, scale, 38, size)?.toString('hex')).toBe(expected?.toString('hex'))
          if (expected) {
            expect(bytesToDecimal(expected, scale)).toBe(text)
            expect(bytesToBigInt(expected)).toBe(unscaled)
          }
        }
      }
    }
  })
})

describe('calendar arithmetic agrees with Date', () => {
  it('for every 13th day from year 1 to 9999', async () => {
    const { formatDate, parseDate } = await import('../../../runtime/codec/values/temporal.ts')
    const first = -719162
    const last = 2932896
    const wrong: string[] = []
    for (let days = first; days <= last; days += 13) {
      const iso = new Date(days * 86_400_000).toISOString().slice(0, 10)
      if (formatDate(days) !== iso || parseDate(iso) !== days) wrong.push(`${days} ${iso}`)
    }
    expect(wrong).toEqual([])
    expect(parseDate('2024-02-29')).toBe(19782)
    expect(parseDate('2023-02-29')).toBeUndefined()
    expect(parseDate('1900-02-29')).toBeUndefined()
    expect(parseDate('2000-02-29')).toBe(11016)
  })
})

import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compileFastWriter, TOO_SMALL } from '../../../runtime/codec/avro/fast-writer.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'

const profileSchema = JSON.parse(fs.readFileSync(new URL('../../../schemas/users.user-profile.avsc', import.meta.url), 'utf8')) as object
const userSchema = JSON.parse(fs.readFileSync(new URL('../../../schemas/registration.user.avsc', import.meta.url), 'utf8')) as object

const misc = {
  type: 'record',
  name: 'Misc',
  fields: [
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double', default: 2.5 },
    { name: 'i', type: 'int' },
    { name: 'fx', type: { type: 'fixed', name: 'F4', size: 4 } },
    { name: 'arr', type: { type: 'array', items: ['null', 'string'] } },
    { name: 'map', type: { type: 'map', values: 'long' } },
    { name: 'nested', type: ['null', { type: 'record', name: 'N', fields: [{ name: 'a', type: 'string', default: 'dflt' }, { name: 'b', type: 'bytes' }] }], default: null },
    { name: 'u', type: ['null', 'long', 'string', 'boolean', 'bytes'] },
    { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] }, default: 'B' },
    { name: 'ts', type: [{ type: 'long', logicalType: 'timestamp-micros' }, 'null'] },
    { name: 'dec', type: { type: 'fixed', name: 'D', size: 8, logicalType: 'decimal', precision: 12, scale: 3 } },
  ],
}

const strings = ['', 'DE', 'Ünïcødé', '😀 emoji', 'x'.repeat(70), 'é'.repeat(40), '\ud800 lone surrogate', 'nul\u0000byte', 'ü'.repeat(70)]

/** Bytes from the fast writer (at an offset, in a roomy buffer) or its verdict. */
function fastBytes(type: ReturnType<typeof createType>, value: unknown, room = 4096): Buffer | number {
  const write = compileFastWriter(type)!
  const buf = Buffer.alloc(room + 3, 0xee)
  const end = write(value, buf, 3)
  return end < 0 ? end : buf.subarray(3, end)
}

function expectSameAsAvsc(schema: object, values: unknown[]): void {
  const type = createType(schema)
  expect(compileFastWriter(type)).toBeDefined()
  for (const value of values) {
    const got = fastBytes(type, value)
    expect(Buffer.isBuffer(got) ? got.toString('hex') : got, JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toBe(
      type.toBuffer(value).toString('hex'),
    )
  }
}

const profile = (over: Record<string, unknown> = {}) => ({
  user_id: 42,
  email: 'ada@example.com',
  display_name: 'Ada Lovelace',
  age_band: '25-34',
  country: 'GB',
  city: null,
  plan: 'premium',
  marketing_opt_in: true,
  lifetime_value: '120.50',
  registered_at: '2025-01-02T03:04:05.123456Z',
  updated_at: '2026-11-01T08:00:00.000001Z',
  ...over,
})

describe('generated Avro writer', () => {
  it('writes the bytes avsc writes, for strings of every kind and logical values in every accepted form', () => {
    const values = [
      profile(),
      ...strings.map((s) => profile({ email: s, display_name: s, city: s, age_band: s })),
      ...[0, -1, 63, 64, 2 ** 31, -(2 ** 31) - 1, 9_007_199_254_740_990, -9_007_199_254_740_990].map((n) => profile({ user_id: n })),
      ...['0.00', '-0.01', '99999999.99', '-99999999.99', '1', '-12.5', '00012.30', '1e3'].map((d) => profile({ lifetime_value: d })),
      profile({ registered_at: '2025-01-02T05:04:05.123+02:00', updated_at: 1_790_000_000_000_001 }),
      profile({ registered_at: new Date(1_700_000_000_123), age_band: undefined }),
    ].filter((v) => {
      try {
        createType(profileSchema).toBuffer(v)
        return true
      } catch {
        return false
      }
    })
    expect(values.length).toBeGreaterThan(25)
    expectSameAsAvsc(profileSchema, values)
  })

  it('handles unions with a logical branch, enums, dates and uuids like avsc', () => {
    const user = {
      id: 7,
      email: 'a@b.cd',
      full_name: 'A B',
      birth_date: '1990-02-28',
      country: 'DE',
      city: 'Berlin',
      plan: 'free',
      marketing_opt_in: false,
      lifetime_value: '1.00',
      external_id: '0B6F5C52-2F1E-4A8E-9A53-3F2B7D9A1C01',
      created_at: 'x',
      updated_at: '2026-11-01T08:00:00Z',
    }
    expectSameAsAvsc(userSchema, [user, { ...user, birth_date: null }, { ...user, birth_date: new Date(86_400_000 * 3) }, { ...user, birth_date: 12 }])
  })

  it('writes arrays, maps, fixed, floats, defaults, nested records and plain unions like avsc', () => {
    const value = {
      f: 1.25,
      i: -5,
      fx: Buffer.from([1, 2, 3, 4]),
      arr: ['a', null, 'ü'],
      map: { one: 1, big: 2 ** 40 },
      nested: { b: Buffer.alloc(40, 7) },
      u: 'str',
      ts: '2020-01-01T00:00:00.000001Z',
      dec: '-123456789.123',
    }
    expectSameAsAvsc(misc, [
      value,
      { ...value, d: 3, e: 'A', nested: null, u: null, ts: null, arr: [], map: {} },
      { ...value, u: 5, nested: { a: 'set', b: Buffer.alloc(0) } },
      { ...value, u: true },
      { ...value, u: Buffer.from('ab') },
    ])
  })

  it('refuses (-1) what avsc refuses, and reports a buffer too small', () => {
    const type = createType(profileSchema)
    for (const bad of [{ user_id: 1.5 }, { plan: 'gold' }, { lifetime_value: 5 }, { lifetime_value: '1.234' }, { updated_at: 'yesterday' }, { email: 7 }, { city: 5 }]) {
      expect(() => type.toBuffer(profile(bad))).toThrow()
      expect(fastBytes(type, profile(bad))).toBe(-1)
    }
    expect(fastBytes(type, profile(), 20)).toBe(TOO_SMALL)
    expect(fastBytes(type, profile({ email: 'é'.repeat(30) }), 40)).toBe(TOO_SMALL)
    expect(fastBytes(type, null)).toBe(-1)
  })

  it('has no writer for a recursive record', () => {
    const list = { type: 'record', name: 'L', fields: [{ name: 'next', type: ['null', 'L'] }] }
    expect(compileFastWriter(createType(list))).toBeUndefined()
  })
})

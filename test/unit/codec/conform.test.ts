import { describe, expect, it } from 'vitest'
import { type TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import { compileConformer, conform } from '../../../runtime/codec/types/conform.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'

const address = {
  type: 'record',
  name: 'Address',
  fields: [
    { name: 'city', type: 'string' },
    { name: 'zip', type: ['null', 'string'], default: null },
  ],
}
const customer = createType({
  type: 'record',
  name: 'com.example.Customer',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'age', type: ['null', 'int'], default: null },
    { name: 'score', type: 'double', default: 0 },
    { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['FREE', 'PRO', 'OTHER'], default: 'OTHER' }, default: 'FREE' },
    { name: 'address', type: address },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'attrs', type: { type: 'map', values: 'long' }, default: {} },
    { name: 'previous', type: ['null', { type: 'array', items: 'Address' }], default: null },
    { name: 'since', type: { type: 'long', logicalType: 'timestamp-millis' }, default: 0 },
    { name: 'balance', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }], default: null },
    { name: 'avatar', type: ['null', 'bytes'], default: null },
  ],
})

const minimal = { id: 1, name: 'Ada', address: { city: 'London' } }

function errorOf(value: unknown): TributaryError {
  try {
    conform(customer, value)
  } catch (e) {
    if (isTributaryError(e, 'TRIB_VALIDATE_TYPE')) return e
    throw e
  }
  throw new Error('conform accepted the value')
}

describe('conform', () => {
  it('fills defaults, drops extra fields and keeps field order', () => {
    const out = conform(customer, { ...minimal, extra: true, address: { city: 'London', street: 'x' } }) as Record<string, unknown>
    expect(out).toEqual({
      id: 1,
      name: 'Ada',
      age: null,
      score: 0,
      tier: 'FREE',
      address: { city: 'London', zip: null },
      tags: [],
      attrs: {},
      previous: null,
      since: '1970-01-01T00:00:00.000Z',
      balance: null,
      avatar: null,
    })
    expect(Object.keys(out)).toEqual((customer as unknown as { fields: Array<{ name: string }> }).fields.map((f) => f.name))
    // The result encodes with the type.
    expect(customer.isValid(out)).toBe(true)
  })

  it('defaults are fresh copies', () => {
    const a = conform(customer, minimal) as { tags: string[] }
    a.tags.push('x')
    expect((conform(customer, minimal) as { tags: string[] }).tags).toEqual([])
  })

  it('resolves unions to the first branch that fits, and nested arrays, maps and records', () => {
    const out = conform(customer, {
      ...minimal,
      age: 36,
      tags: ['a', 'b'],
      attrs: { logins: 3 },
      previous: [{ city: 'Paris', zip: '75001' }],
    }) as Record<string, unknown>
    expect(out.age).toBe(36)
    expect(out.previous).toEqual([{ city: 'Paris', zip: '75001' }])
    expect(out.attrs).toEqual({ logins: 3 })
  })

  it('normalizes logical types to canonical values and refuses non-canonical kinds', () => {
    const out = conform(customer, { ...minimal, since: '2023-11-15T00:13:20.5+02:00', balance: '12.5' }) as Record<string, unknown>
    expect(out.since).toBe('2023-11-14T22:13:20.500Z')
    expect(out.balance).toBe('12.50')
    expect(errorOf({ ...minimal, since: 1700000000000 }).message).toBe('since: expected ISO 8601 UTC timestamp string with 3 fraction digits, got number')
    expect(errorOf({ ...minimal, balance: 12.5 }).message).toMatch(/^balance: expected one of \[null, decimal\], got non-integer number$/)
    expect(errorOf({ ...minimal, balance: '1.234' }).message).toMatch(/^balance: /)
  })

  it('takes bytes as a Buffer or base64', () => {
    expect((conform(customer, { ...minimal, avatar: 'AQID' }) as { avatar: Buffer }).avatar).toEqual(Buffer.from([1, 2, 3]))
    expect((conform(customer, { ...minimal, avatar: Buffer.from([9]) }) as { avatar: Buffer }).avatar).toEqual(Buffer.from([9]))
  })

  it('an unknown enum symbol takes the enum default', () => {
    expect((conform(customer, { ...minimal, tier: 'GOLD' }) as { tier: string }).tier).toBe('OTHER')
  })

  it('error paths name the field, with array indices and map keys', () => {
    expect(errorOf({ ...minimal, address: { city: 42 } }).message).toBe('address.city: expected string, got number')
    expect(errorOf({ ...minimal, previous: [{ city: 'a' }, { city: null }] }).message).toBe('previous[1].city: expected string, got null')
    expect(errorOf({ ...minimal, attrs: { logins: 'many' } }).message).toBe('attrs.logins: expected long (64-bit integer: a safe integer number, or a bigint), got string')
    expect(errorOf({ ...minimal, tags: ['a', 1] }).message).toBe('tags[1]: expected string, got number')
    const missing = errorOf({ id: 1, address: { city: 'x' } })
    expect(missing.message).toBe('name: required field is missing (it has no default)')
    expect(missing.details.path).toBe('name')
  })

  it('checks numbers: int range and integers, longs exact (a number only while safe, a bigint beyond)', () => {
    expect(errorOf({ ...minimal, age: 3.5 }).message).toBe('age: expected int (32-bit integer), got non-integer number')
    expect(errorOf({ ...minimal, age: 2 ** 31 }).message).toMatch(/^age: /)
    expect(errorOf({ ...minimal, id: 2 ** 60 }).message).toBe('id: expected long (64-bit integer: a safe integer number, or a bigint), got number beyond 2^53 (not exact: give a bigint)')
    expect(errorOf({ ...minimal, id: 2n ** 63n }).message).toBe('id: expected long (64-bit integer: a safe integer number, or a bigint), got bigint beyond 64 bits')
    expect(errorOf({ ...minimal, id: '1' }).message).toBe('id: expected long (64-bit integer: a safe integer number, or a bigint), got string')
    expect((conform(customer, { ...minimal, id: 2n ** 63n - 1n }) as { id: unknown }).id).toBe(2n ** 63n - 1n)
    expect((conform(customer, { ...minimal, id: -(2n ** 53n) + 1n }) as { id: unknown }).id).toBe(-(2 ** 53) + 1)
    expect((conform(customer, { ...minimal, score: 7 }) as { score: number }).score).toBe(7)
  })

  it('rejects a non-object record', () => {
    expect(errorOf([1]).message).toBe('value: expected record com.example.Customer, got array')
    expect(errorOf(null).message).toBe('value: expected record com.example.Customer, got null')
  })

  it('handles recursive types', () => {
    const node = createType({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'v', type: 'int' },
        { name: 'next', type: ['null', 'Node'], default: null },
      ],
    })
    const conformNode = compileConformer(node)
    expect(conformNode({ v: 1, next: { v: 2, x: 'drop' } })).toEqual({ v: 1, next: { v: 2, next: null } })
    expect(() => conformNode({ v: 1, next: { v: 'two' } })).toThrow('next.v: expected int (32-bit integer), got string')
  })
})

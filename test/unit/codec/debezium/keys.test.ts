import { describe, expect, it } from 'vitest'
import { canonicalKey } from '../../../../runtime/codec/key.ts'
import { isTombstone, keyFromMessage, keyOf } from '../../../../runtime/codec/debezium/keys.ts'
import { parseJsonChange } from '../../../../runtime/codec/debezium/json.ts'
import type { ChangeEvent } from '../../../../runtime/codec/debezium/types.ts'
import { fixture } from './tables.ts'

describe('keyFromMessage', () => {
  it('reads a wrapped JSON key with its schema', () => {
    expect(keyFromMessage(Buffer.from(fixture('users/json/02-create.key.json')))).toEqual({ id: 2 })
  })

  it('converts semantic types in wrapped keys', () => {
    const key = {
      schema: {
        type: 'struct',
        fields: [
          { type: 'string', optional: false, name: 'io.debezium.data.Uuid', version: 1, field: 'tenant' },
          { type: 'int64', optional: false, name: 'io.debezium.time.MicroTimestamp', version: 1, field: 'at' },
        ],
        optional: false,
        name: 'x.public.t.Key',
      },
      payload: { tenant: 'ABC', at: 1700000000123456 },
    }
    expect(keyFromMessage(JSON.stringify(key))).toEqual({ tenant: 'abc', at: '2023-11-14T22:13:20.123456Z' })
    expect(keyFromMessage(key)).toEqual({ tenant: 'abc', at: '2023-11-14T22:13:20.123456Z' })
  })

  it('reads a bare JSON key as given', () => {
    expect(keyFromMessage(fixture('users/json-bare/02-create.key.json'))).toEqual({ id: 2 })
  })

  it('returns decoded values as they are, and null for absent or empty keys', () => {
    const decoded = { id: 5 }
    expect(keyFromMessage(decoded)).toBe(decoded)
    expect(keyFromMessage(null)).toBeNull()
    expect(keyFromMessage(undefined)).toBeNull()
    expect(keyFromMessage(Buffer.alloc(0))).toBeNull()
  })

  it('takes a key that is not JSON as a plain string', () => {
    expect(keyFromMessage(Buffer.from('user-42'))).toBe('user-42')
    expect(keyFromMessage('user-42')).toBe('user-42')
  })

  it('refuses Confluent-framed Avro bytes, which must be decoded first', () => {
    expect(() => keyFromMessage(Buffer.from([0, 0, 0, 0, 7, 2]), { topic: 't', partition: 0, offset: 1 })).toThrow(/t\[0\]@1: .*Avro frame/)
  })
})

describe('keyOf', () => {
  const del = parseJsonChange(fixture('users/json/04-delete.value.json'))
  const create = parseJsonChange(fixture('users/json/02-create.value.json'))

  it('prefers the message key', () => {
    expect(keyOf(del, Buffer.from(fixture('users/json/04-delete.key.json')))).toEqual({ id: 2 })
  })

  it('takes the key fields from before for deletes and from after otherwise', () => {
    expect(keyOf(del, null, ['id'])).toEqual({ id: 2 })
    expect(keyOf(create, null, ['id', 'email'])).toEqual({ id: 2, email: 'bob@example.com' })
    const update: ChangeEvent = { op: 'u', before: { id: 1, n: 'a' }, after: { id: 9, n: 'b' }, source: null, tsMs: null }
    expect(keyOf(update, null, ['id'])).toEqual({ id: 9 })
  })

  it('uses the whole row when no key is known, and null for truncates', () => {
    expect(keyOf(create, null)).toBe(create.after)
    expect(keyOf(parseJsonChange(fixture('users/json/06-truncate.value.json')), null, ['id'])).toBeNull()
  })
})

describe('canonical key of a Debezium key', () => {
  it('is the same for the message key and the key taken from the row', () => {
    const del = parseJsonChange(fixture('users/json/04-delete.value.json'))
    const fromMessage = keyOf(del, fixture('users/json/04-delete.key.json'))
    expect(canonicalKey(fromMessage)).toBe(canonicalKey(keyOf(del, null, ['id'])))
    expect(canonicalKey(fromMessage)).toBe('2')
  })
})

describe('isTombstone', () => {
  it('is true only for a null or absent value', () => {
    expect(isTombstone(null)).toBe(true)
    expect(isTombstone(undefined)).toBe(true)
    expect(isTombstone(Buffer.alloc(0))).toBe(false)
    expect(isTombstone('')).toBe(false)
    expect(isTombstone(Buffer.from(fixture('users/json/04-delete.value.json')))).toBe(false)
  })
})

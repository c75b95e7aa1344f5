import { describe, expect, it } from 'vitest'
import { parseJsonChange } from '../../../../runtime/codec/debezium/json.ts'
import { isTributaryError, type TributaryError } from '../../../../runtime/errors.ts'
import { alice, bob, bobUpdated, fixture, logicalTypesRow } from './tables.ts'

const at = { topic: 'registration.public.users', partition: 0, offset: 7 }

/** The error a call throws, failing the test when it does not throw. */
function thrown(fn: () => unknown): TributaryError {
  try {
    fn()
  } catch (e) {
    if (isTributaryError(e)) return e
    throw e
  }
  throw new Error('expected a TributaryError')
}

describe('parseJsonChange with the {schema, payload} wrapper', () => {
  const read = (name: string) => parseJsonChange(Buffer.from(fixture(`users/json/${name}.value.json`)), at)

  it('converts a snapshot read to canonical values', () => {
    const e = read('01-read')
    expect(e.op).toBe('r')
    expect(e.before).toBeNull()
    expect(e.after).toEqual(alice)
    expect(e.tsMs).toBe(1700000000250)
    expect(e.source).toMatchObject({ connector: 'postgresql', db: 'registration', table: 'users', snapshot: 'last', lsn: 24023128 })
  })

  it('keeps source.ts_ns beyond 2^53 exact', () => {
    expect(read('02-create').source?.ts_ns).toBe(1700000000480123000n)
  })

  it('reads create, update and delete', () => {
    expect(read('02-create')).toMatchObject({ op: 'c', before: null, after: bob, tsMs: 1700000000512 })
    expect(read('03-update')).toMatchObject({ op: 'u', before: bob, after: bobUpdated })
    expect(read('04-delete')).toMatchObject({ op: 'd', before: bobUpdated, after: null, tsMs: 1700000200034 })
  })

  it('passes a truncate through with no row', () => {
    const e = read('06-truncate')
    expect(e).toMatchObject({ op: 't', before: null, after: null, tsMs: 1700000300012 })
    expect(e.source?.table).toBe('users')
  })

  it('converts every semantic type of the logical-types table exactly', () => {
    const e = parseJsonChange(fixture('logical-types/json/create.value.json'))
    expect(e.after).toEqual(logicalTypesRow)
    expect(Buffer.isBuffer(e.after?.blob)).toBe(true)
  })

  it('reads an int64 column value beyond 2^53 exactly, as a bigint', () => {
    for (const [text, big] of [['9007199254740993', 9007199254740993n], ['-9223372036854775808', -(2n ** 63n)], ['9223372036854775807', 2n ** 63n - 1n]] as const) {
      const json = fixture('logical-types/json/create.value.json').replace('"big":9007199254740991', `"big":${text}`)
      expect(parseJsonChange(json, at).after?.big).toBe(big)
    }
  })

  it('names the field of a value that does not convert', () => {
    const text = fixture('logical-types/json/create.value.json').replace('"doc":"{', '"doc":"{oops')
    const err = thrown(() => parseJsonChange(text, at))
    expect(err.code).toBe('TRIB_DECODE_ENVELOPE')
    expect(err.details.field).toBe('after.doc')
  })
})

describe('parseJsonChange wrapper splitting and schema cache', () => {
  const text = fixture('users/json/03-update.value.json')

  it('gives the same event whatever the key order or spacing of the wrapper', () => {
    const { schema, payload } = JSON.parse(text) as { schema: unknown; payload: unknown }
    const expected = parseJsonChange(text)
    const reordered = parseJsonChange(JSON.stringify({ payload, schema }, null, 2))
    expect(reordered.after).toEqual(expected.after)
    expect(reordered.before).toEqual(expected.before)
    const spaced = parseJsonChange(`  {  "schema" : ${JSON.stringify(schema, null, 1)} ,\n "payload" :${JSON.stringify(payload)}  }\n`)
    expect(spaced.after).toEqual(bobUpdated)
  })

  it('reuses the compiled schema across messages with different payloads', () => {
    const first = parseJsonChange(fixture('users/json/02-create.value.json'))
    const second = parseJsonChange(text)
    expect(first.after).toEqual(bob)
    expect(second.after).toEqual(bobUpdated)
  })

  it('reports malformed JSON inside the schema as TRIB_DECODE_JSON', () => {
    const broken = text.replace('"optional":false,"field":"id"', '"optional":false,,"field":"id"')
    expect(broken).not.toBe(text)
    expect(thrown(() => parseJsonChange(broken, at)).code).toBe('TRIB_DECODE_JSON')
  })

  it('reports trailing data after the wrapper as TRIB_DECODE_JSON', () => {
    expect(thrown(() => parseJsonChange(`${text},"extra":1}`, at)).code).toBe('TRIB_DECODE_JSON')
  })
})

describe('parseJsonChange without the wrapper', () => {
  const read = (name: string) => parseJsonChange(fixture(`users/json-bare/${name}.value.json`), at)

  it('passes values through as given', () => {
    const e = read('01-read')
    expect(e.op).toBe('r')
    expect(e.after).toEqual({
      ...alice,
      signup_date: 19662,
      last_login: 1700000000123456,
      balance: 'MDk=',
      preferences: '{"theme": "dark", "newsletter": true}',
    })
    expect(e.source?.ts_ns).toBe(1700000000000000000n)
  })

  it('reads every op', () => {
    expect(['01-read', '02-create', '03-update', '04-delete', '06-truncate'].map((n) => read(n).op)).toEqual(['r', 'c', 'u', 'd', 't'])
    expect(read('04-delete').before?.id).toBe(2)
  })

  it('keeps unsafe integers exact (the reader schema judges them later)', () => {
    const e = parseJsonChange(fixture('logical-types/json-bare/create.value.json'))
    expect(e.after?.ts_ns).toBe(1700000000123456789n)
  })
})

describe('parseJsonChange errors', () => {
  const base = { before: null, after: { id: 1 }, source: null, op: 'c', ts_ms: 1 }
  const make = (patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch })

  it('TRIB_DECODE_JSON for bytes that are not JSON', () => {
    const err = thrown(() => parseJsonChange(Buffer.from([0, 0, 0, 0, 1, 2]), at))
    expect(err.code).toBe('TRIB_DECODE_JSON')
    expect(err.message).toContain('registration.public.users[0]@7')
    expect(thrown(() => parseJsonChange('{"op":"c",')).code).toBe('TRIB_DECODE_JSON')
  })

  it.each([
    ['a JSON array', '[1,2]', undefined, /not an object/],
    ['a missing op', make({ op: undefined }), 'op', /`op` is missing/],
    ['an unknown op', make({ op: 'x' }), 'op', /unknown value "x"/],
    ['a message event', make({ op: 'm' }), 'op', /unknown value "m"/],
    ['a missing after on create', JSON.stringify({ op: 'c', before: null }), 'after', /`after` is missing for op "c"/],
    ['a null after on update', make({ op: 'u', after: null }), 'after', /`after` is null for op "u"/],
    ['a null after on read', make({ op: 'r', after: null }), 'after', /`after` is null for op "r"/],
    ['an after on delete', make({ op: 'd' }), 'after', /must be null for op "d"/],
    ['an after that is not an object', make({ after: [1] }), 'after', /`after` is not an object/],
    ['a before that is a string', make({ op: 'u', before: 'x' }), 'before', /`before` is not an object/],
    ['a non-integer ts_ms', make({ ts_ms: 'soon' }), 'ts_ms', /`ts_ms`/],
    ['a null payload', JSON.stringify({ schema: { type: 'struct' }, payload: null }), 'payload', /`payload` is null/],
  ])('TRIB_DECODE_ENVELOPE for %s', (_name, text, field, message) => {
    const err = thrown(() => parseJsonChange(text, at))
    expect(err.code).toBe('TRIB_DECODE_ENVELOPE')
    expect(err.message).toMatch(message)
    expect(err.details.field).toBe(field)
    expect(err.details.topic).toBe(at.topic)
  })

  it('accepts a delete without before (the key comes from the message key)', () => {
    expect(parseJsonChange(make({ op: 'd', after: null, before: null }))).toMatchObject({ op: 'd', before: null, after: null })
  })
})

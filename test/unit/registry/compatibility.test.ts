import { describe, expect, it } from 'vitest'
import { canRead, checkLevel } from '../../../runtime/registry/compatibility.ts'
import type { CompatibilityLevel } from '../../../runtime/registry/registry.ts'

type Field = { name: string; type: unknown; default?: unknown; aliases?: string[] }
const record = (fields: Field[], name = 'com.example.User', extra: object = {}) => ({ type: 'record', name, fields, ...extra })
const id: Field = { name: 'id', type: 'long' }
const email: Field = { name: 'email', type: 'string' }
const emailWithDefault: Field = { name: 'email', type: 'string', default: '' }

const backward = (next: object, prev: object) => checkLevel('BACKWARD', next, [{ version: 1, schema: prev }])
const forward = (next: object, prev: object) => checkLevel('FORWARD', next, [{ version: 1, schema: prev }])

describe('fields', () => {
  it('an added field with a default passes BACKWARD', () => {
    expect(backward(record([id, emailWithDefault]), record([id])).compatible).toBe(true)
  })

  it('an added field without a default fails BACKWARD, naming the field', () => {
    const r = backward(record([id, email]), record([id]))
    expect(r.compatible).toBe(false)
    expect(r.messages[0]).toMatch(/version 1/)
    expect(r.messages[0]).toMatch(/email/)
  })

  it('a removed field without a default fails FORWARD; with a default it passes', () => {
    expect(forward(record([id]), record([id, email])).compatible).toBe(false)
    expect(forward(record([id]), record([id, emailWithDefault])).compatible).toBe(true)
  })

  it('a removed field passes BACKWARD (the reader ignores it)', () => {
    expect(backward(record([id]), record([id, email])).compatible).toBe(true)
  })

  it('a renamed field reads through a reader alias', () => {
    const renamed = record([id, { name: 'mail', type: 'string', aliases: ['email'] }])
    expect(backward(renamed, record([id, email])).compatible).toBe(true)
    expect(backward(record([id, { name: 'mail', type: 'string' }]), record([id, email])).compatible).toBe(false)
  })
})

describe('type promotions', () => {
  const allowed: Array<[string, string]> = [
    ['int', 'long'],
    ['int', 'float'],
    ['int', 'double'],
    ['long', 'float'],
    ['long', 'double'],
    ['float', 'double'],
    ['string', 'bytes'],
    ['bytes', 'string'],
  ]
  it.each(allowed)('a %s writer is read as %s, not the other way round (except string/bytes)', (writer, reader) => {
    expect(canRead(reader, writer).compatible).toBe(true)
    const reverse = canRead(writer, reader).compatible
    expect(reverse).toBe((writer === 'string' && reader === 'bytes') || (writer === 'bytes' && reader === 'string'))
  })

  it('as a field: int -> long passes BACKWARD and fails FORWARD', () => {
    const v1 = record([{ name: 'n', type: 'int' }])
    const v2 = record([{ name: 'n', type: 'long' }])
    expect(backward(v2, v1).compatible).toBe(true)
    expect(forward(v2, v1).compatible).toBe(false)
  })

  it('unrelated types do not read each other', () => {
    expect(canRead('int', 'string').compatible).toBe(false)
    expect(canRead('boolean', 'int').compatible).toBe(false)
  })

  it('ignores logical types, as Confluent does', () => {
    expect(canRead({ type: 'long', logicalType: 'timestamp-micros' }, { type: 'long', logicalType: 'timestamp-millis' }).compatible).toBe(true)
  })
})

describe('enums', () => {
  const colors = (symbols: string[], extra: object = {}) => ({ type: 'enum', name: 'Color', symbols, ...extra })
  it('an added symbol passes BACKWARD and fails FORWARD unless the old reader has a default', () => {
    const v1 = colors(['RED', 'GREEN'])
    const v2 = colors(['RED', 'GREEN', 'BLUE'])
    expect(backward(v2, v1).compatible).toBe(true)
    expect(forward(v2, v1).compatible).toBe(false)
    expect(forward(v2, colors(['RED', 'GREEN'], { default: 'RED' })).compatible).toBe(true)
  })

  it('a removed symbol fails BACKWARD unless the new reader has a default', () => {
    const v1 = colors(['RED', 'GREEN', 'BLUE'])
    expect(backward(colors(['RED', 'GREEN']), v1).compatible).toBe(false)
    expect(backward(colors(['RED', 'GREEN'], { default: 'RED' }), v1).compatible).toBe(true)
  })
})

describe('unions', () => {
  const field = (type: unknown) => record([{ name: 'v', type }])
  it('widening a union passes BACKWARD and fails FORWARD', () => {
    expect(backward(field(['null', 'string', 'int']), field(['null', 'string'])).compatible).toBe(true)
    expect(forward(field(['null', 'string', 'int']), field(['null', 'string'])).compatible).toBe(false)
  })

  it('narrowing a union fails BACKWARD and passes FORWARD', () => {
    expect(backward(field(['null', 'string']), field(['null', 'string', 'int'])).compatible).toBe(false)
    expect(forward(field(['null', 'string']), field(['null', 'string', 'int'])).compatible).toBe(true)
  })

  it('a plain type widened into a union is readable; the reverse only when every branch is', () => {
    expect(backward(field(['null', 'string']), field('string')).compatible).toBe(true)
    expect(backward(field('string'), field(['null', 'string'])).compatible).toBe(false)
  })

  it('accepts unions avsc cannot unwrap (two records)', () => {
    const a = { type: 'record', name: 'A', fields: [] }
    const b = { type: 'record', name: 'B', fields: [] }
    expect(canRead(['null', a, b], ['null', a]).compatible).toBe(true)
  })
})

describe('named types', () => {
  it('a renamed record fails without an alias and passes with one', () => {
    expect(backward(record([id], 'com.example.Person'), record([id])).compatible).toBe(false)
    expect(backward(record([id], 'com.example.Person', { aliases: ['com.example.User'] }), record([id])).compatible).toBe(true)
  })

  it('a namespace-only change passes, as in Avro (unqualified names match)', () => {
    expect(backward(record([id], 'org.other.User'), record([id])).compatible).toBe(true)
  })

  it('fixed sizes must match', () => {
    expect(canRead({ type: 'fixed', name: 'H', size: 16 }, { type: 'fixed', name: 'H', size: 8 }).compatible).toBe(false)
    expect(canRead({ type: 'fixed', name: 'H', size: 16 }, { type: 'fixed', name: 'H', size: 16 }).compatible).toBe(true)
  })
})

describe('levels', () => {
  // v2 adds `email` with a default; v3 drops the default. v3 reads v2 data (which has email) but
  // not v1 data (which lacks it).
  const v1 = record([id])
  const v2 = record([id, emailWithDefault])
  const v3 = record([id, email])
  const history = [
    { version: 1, schema: v1 },
    { version: 2, schema: v2 },
  ]

  it('BACKWARD checks the latest only; BACKWARD_TRANSITIVE checks every version', () => {
    expect(checkLevel('BACKWARD', v3, history).compatible).toBe(true)
    const r = checkLevel('BACKWARD_TRANSITIVE', v3, history)
    expect(r.compatible).toBe(false)
    expect(r.messages).toHaveLength(1)
    expect(r.messages[0]).toMatch(/version 1/)
  })

  it('FORWARD_TRANSITIVE fails where FORWARD passes', () => {
    // Going v1 -> v2 -> v3 backwards: dropping email (with default in v2, without in v1's absent field).
    const f1 = record([id, email])
    const f2 = record([id, emailWithDefault])
    const f3 = record([id])
    const h = [
      { version: 1, schema: f1 },
      { version: 2, schema: f2 },
    ]
    expect(checkLevel('FORWARD', f3, h).compatible).toBe(true)
    expect(checkLevel('FORWARD_TRANSITIVE', f3, h).compatible).toBe(false)
  })

  it('FULL needs both directions; FULL_TRANSITIVE against all', () => {
    expect(checkLevel('FULL', v2, [{ version: 1, schema: v1 }]).compatible).toBe(true)
    expect(checkLevel('FULL', v3, [{ version: 1, schema: v1 }]).compatible).toBe(false) // backward fails
    expect(checkLevel('FULL', v1, [{ version: 1, schema: v3 }]).compatible).toBe(false) // forward fails
    expect(checkLevel('FULL', record([id, emailWithDefault]), [{ version: 1, schema: v3 }]).compatible).toBe(true)
    expect(checkLevel('FULL_TRANSITIVE', v3, history).compatible).toBe(false)
  })

  it('NONE allows anything', () => {
    expect(checkLevel('NONE', 'string', [{ version: 1, schema: v1 }]).compatible).toBe(true)
  })

  it.each(['BACKWARD', 'FORWARD', 'FULL', 'BACKWARD_TRANSITIVE'] as CompatibilityLevel[])('%s allows anything on an empty subject', (level) => {
    expect(checkLevel(level, 'string', []).compatible).toBe(true)
  })

  it('a type change fails every level but NONE', () => {
    for (const level of ['BACKWARD', 'FORWARD', 'FULL'] as const) {
      expect(checkLevel(level, 'string', [{ version: 1, schema: v1 }]).compatible).toBe(false)
    }
  })
})

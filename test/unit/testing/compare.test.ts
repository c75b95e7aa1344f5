import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseExact } from '../../../runtime/codec/json/exact.ts'
import { difference, show } from '../../../runtime/testing/compare.ts'

/** Values in the value model's in-memory forms: int64 as number or bigint, floats with their edges, Buffers. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.string(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)),
    fc.double(),
    fc.constantFrom(NaN, Infinity, -Infinity, -0),
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 })),
})).node

describe('fixture comparison', () => {
  it('a value read back from its fixture form equals itself: int64 exact, -0, NaN, bytes', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(difference(parseExact(show(v)), v)).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })

  it('a changed value is a difference, and the message names where', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.integer(), { minKeys: 1 }), fc.nat(), (o, pick) => {
        const keys = Object.keys(o)
        const k = keys[pick % keys.length]!
        const changed = { ...o, [k]: o[k]! + 1 }
        expect(difference(parseExact(show(o)), changed)).toBe(`${k}: expected ${o[k]}, got ${o[k]! + 1}`)
      }),
    )
    // A bigint and a number are the same int64; 0 and -0 are not the same float.
    expect(difference(parseExact('9007199254740993'), 9007199254740993n)).toBeUndefined()
    expect(difference(parseExact('{"a":0}'), { a: -0 })).toBe('a: expected 0, got -0.0')
    expect(difference(parseExact('{"a":1}'), { a: 1, b: 2 })).toBe('b: not expected, got 2')
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseJsonBytes } from '../../../runtime/codec/json/read.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'
import { INT64_MAX, INT64_MIN, narrow, readLong, toInt64, writeLong } from '../../../runtime/codec/values/long.ts'
import { decodeEscaped, findIllFormed } from '../../../runtime/codec/values/utf8.ts'
import { isTributaryError } from '../../../runtime/errors.ts'

/** The zigzag varint by the book, in bigint: the reference the exact reader and writer are held to. */
function varint(n: bigint): Buffer {
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n))
  const out: number[] = []
  do {
    out.push(Number(z & 0x7fn) | (z > 0x7fn ? 0x80 : 0))
    z >>= 7n
  } while (z > 0n)
  return Buffer.from(out)
}

const int64 = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, -(2n ** 53n), -(2n ** 52n) - 1n, -9007199254740990n, -4503599627370497n, -6000000000000001n, 2n ** 30n, -(2n ** 30n) - 1n),
)

describe('int64 varints', () => {
  it('write every int64 (as a number when safe, else a bigint) exactly as the book says, and read it back', () => {
    fc.assert(
      fc.property(int64, (n) => {
        const value = narrow(n)
        const buf = Buffer.alloc(12)
        const c = { buf, pos: 1 }
        writeLong(c, value)
        expect(buf.subarray(1, c.pos)).toEqual(varint(n))
        const r = { buf, pos: 1 }
        expect(readLong(r)).toBe(value)
        expect(r.pos).toBe(c.pos)
      }),
      { seed: 8, numRuns: 5000 },
    )
  })

  it('refuses a varint longer than ten bytes or beyond 64 bits, and leaves a truncated one past the end', () => {
    expect(() => readLong({ buf: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), pos: 0 })).toThrow(/ten bytes/)
    expect(() => readLong({ buf: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), pos: 0 })).toThrow(/64 bits/)
    for (const bytes of [[0x80], [0xff, 0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) {
      const c = { buf: Buffer.from(bytes), pos: 0 }
      readLong(c)
      expect(c.pos).toBeGreaterThan(bytes.length)
    }
  })

  it('takes safe numbers and in-range bigints as int64s, nothing else', () => {
    expect(toInt64(2n ** 53n - 1n)).toBe(2 ** 53 - 1)
    expect(toInt64(2n ** 53n)).toBe(2n ** 53n)
    expect(toInt64(2 ** 53)).toBeUndefined()
    expect(toInt64(INT64_MAX + 1n)).toBeUndefined()
    expect(toInt64(1.5)).toBeUndefined()
    expect(toInt64('1')).toBeUndefined()
  })
})

describe('UTF-8', () => {
  it('decodes invalid bytes as lone surrogates, valid text as it is', () => {
    const bytes = Buffer.concat([Buffer.from('aé'), Buffer.from([0xff, 0xc3]), Buffer.from('🎧'), Buffer.from([0xed, 0xa0, 0x80])])
    expect(decodeEscaped(bytes)).toBe('aé\udcff\udcc3🎧\udced\udca0\udc80')
    expect(decodeEscaped(Buffer.from('plain ✓'))).toBe('plain ✓')
  })

  it('finds the first string or key with a lone surrogate', () => {
    expect(findIllFormed({ a: 'ok', b: [1, { c: 'x\ud800' }] })).toEqual(['b', 1, 'c'])
    expect(findIllFormed({ ['k\udc00']: 1 })).toEqual(['k\udc00'])
    expect(findIllFormed({ a: 'ok', b: Buffer.from([0xff]) })).toBeUndefined()
  })

  it('JSON bytes that are not UTF-8, or a lone surrogate escape, are TRIB_DECODE_UTF8 naming the field', () => {
    const err = (input: Buffer | string) => {
      try {
        parseJsonBytes(input, 't[0]@1')
      } catch (e) {
        if (isTributaryError(e)) return e
      }
      throw new Error('expected a TributaryError')
    }
    const bad = Buffer.concat([Buffer.from('{"a": {"b": ["x", "'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}}')])
    expect(err(bad)).toMatchObject({ code: 'TRIB_DECODE_UTF8', message: 't[0]@1: field a.b[1] is not valid UTF-8', details: { field: 'a.b[1]' } })
    expect(err('{"name": "\\ud800"}')).toMatchObject({ code: 'TRIB_DECODE_UTF8', details: { field: 'name' } })
    expect(err('{"n": 1e400}').code).toBe('TRIB_DECODE_JSON')
    expect(parseJsonBytes('{"pair": "\\ud83c\\udfa7", "n": 12345678901234567890}', '')).toEqual({ pair: '🎧', n: 12345678901234567890n })
  })
})

describe('the JSON writer', () => {
  it('writes int64 exactly, -0.0, NaN and infinities as strings, bytes as base64', () => {
    expect(writeJson({ a: 2n ** 63n - 1n, b: -0, c: Number.NaN, d: Number.POSITIVE_INFINITY, e: Number.NEGATIVE_INFINITY, f: Buffer.from([0xde, 0xad]), g: undefined, h: 2 ** 60 })).toBe(
      '{"a":9223372036854775807,"b":-0.0,"c":"NaN","d":"Infinity","e":"-Infinity","f":"3q0=","h":1152921504606847000.0}',
    )
    expect(writeJson([undefined, new Date(0), new Map([['k', 1n]]), 1e21, 0.1])).toBe('[null,"1970-01-01T00:00:00.000Z",{"k":1},1e+21,0.1]')
  })

  it('pretty-prints as JSON.stringify does for plain JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // Where they differ on purpose: -0 (JSON.stringify drops its sign), integral doubles beyond 2^53 ('.0').
        const unusual = (x: unknown): boolean =>
          typeof x === 'number' ? Object.is(x, -0) || (Number.isInteger(x) && !Number.isSafeInteger(x)) : x !== null && typeof x === 'object' && Object.values(x).some(unusual)
        if (unusual(v)) return
        expect(writeJson(v, 2)).toBe(JSON.stringify(v, null, 2))
        expect(writeJson(v)).toBe(JSON.stringify(v))
      }),
      { seed: 9, numRuns: 500 },
    )
  })
})

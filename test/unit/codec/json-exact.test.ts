import { describe, expect, it } from 'vitest'
import { parseExact } from '../../../runtime/codec/json/exact.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'

describe('parseExact', () => {
  it('keeps integers beyond 2^53 exact as bigints and leaves the rest as JSON.parse does', () => {
    const text = '{"ts_ns":1766925059873428925,"ts_ms":1766925059873,"neg":-9223372036854775808,"f":12345678901234567.5,"e":1e300,"safe":9007199254740991}'
    expect(parseExact(text)).toEqual({
      ts_ns: 1766925059873428925n,
      ts_ms: 1766925059873,
      neg: -9223372036854775808n,
      f: 12345678901234567.5,
      e: 1e300,
      safe: 9007199254740991,
    })
  })

  it('agrees with JSON.parse on documents without unsafe integers, through the slow path too', () => {
    // The 16-digit run in a string forces the hand-written parser.
    const doc = {
      s: 'quote " backslash \\ tab \t nl \n unicode é \u2028 emoji 😀 ctrl \u0001',
      digits: '1234567890123456789',
      arr: [1, -2.5, 0, 1e-7, true, false, null, [], {}, [[[]]]],
      nested: { a: { b: { c: 'd' } }, '': 'empty key', 'k"q': 1 },
    }
    const text = JSON.stringify(doc, null, 2)
    expect(parseExact(text)).toEqual(JSON.parse(text))
    expect(parseExact(JSON.stringify(doc))).toEqual(doc)
    expect(Object.is((parseExact('[-0, 12345678901234567890]') as unknown[])[0], -0)).toBe(true)
  })

  it('makes __proto__ an own property like JSON.parse', () => {
    const parsed = parseExact('{"__proto__":{"polluted":1},"n":12345678901234567890}') as Record<string, unknown>
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.keys(parsed)).toEqual(['__proto__', 'n'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    ['{"a":1,}'],
    ['[1 2]'],
    ['{"a" 1}'],
    ['"unterminated'],
    ['{"a":tru}'],
    ['01'],
    ['{"a":1} x'],
    ['"ctrl \u0001 char"'],
    [''],
  ])('rejects %j on both paths', (bad) => {
    expect(() => JSON.parse(bad)).toThrow(SyntaxError)
    expect(() => parseExact(`[${bad}, 12345678901234567890]`)).toThrow(SyntaxError)
  })
})

describe('writeJson', () => {
  it('writes bigints as digits, Buffers as base64 and skips undefined', () => {
    expect(writeJson({ n: 1766925059873428925n, b: Buffer.from([0x30, 0x39]), u: undefined, a: [1, 'x', null], s: 'é"' })).toBe(
      '{"n":1766925059873428925,"b":"MDk=","a":[1,"x",null],"s":"é\\""}',
    )
  })

  it('round-trips with parseExact', () => {
    const value = { ts_ns: -1766925059873428925n, nested: { x: [0.5, true, 'y'] } }
    expect(parseExact(writeJson(value))).toEqual(value)
  })
})

import { writeJson } from '../codec/json/write.ts'

/**
 * Expected against actual, in the value model's terms: an int64 is equal whether it is a number or a
 * bigint; a Buffer equals its base64 text; floats compare as Object.is (NaN equals NaN, -0 is not 0;
 * "NaN", "Infinity", "-Infinity" in a fixture stand for those floats). Every mismatch names where
 * it is (`value.plan`) and what each side holds, so a failing case reads like a diff.
 */

/** The first place two values differ, or undefined when they are equal. */
export function difference(expected: unknown, actual: unknown, at = ''): string | undefined {
  if (isInt(expected) && isInt(actual)) return BigInt(expected) === BigInt(actual) ? undefined : mismatch(at, expected, actual)
  if (typeof actual === 'number' && !Number.isFinite(actual)) return expected === String(actual) ? undefined : mismatch(at, expected, actual)
  // A double (even one with an integral value past 2^53): equal as a double, -0 apart from 0.
  if ((typeof expected === 'number' || typeof expected === 'bigint') && typeof actual === 'number') return Object.is(Number(expected), actual) ? undefined : mismatch(at, expected, actual)
  if (Buffer.isBuffer(actual)) return expected === actual.toString('base64') ? undefined : mismatch(at, expected, actual)
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return `${at || 'value'}: expected ${expected.length} items, got ${actual.length}`
    for (let i = 0; i < expected.length; i++) {
      const d = difference(expected[i], actual[i], `${at}[${i}]`)
      if (d) return d
    }
    return undefined
  }
  if (isObject(expected) && isObject(actual)) {
    for (const k of Object.keys(expected)) {
      if (!(k in actual)) return `${join(at, k)}: expected ${show(expected[k])}, but the field is missing`
      const d = difference(expected[k], actual[k], join(at, k))
      if (d) return d
    }
    const extra = Object.keys(actual).filter((k) => !(k in expected))
    return extra.length ? `${join(at, extra[0]!)}: not expected, got ${show(actual[extra[0]!])}` : undefined
  }
  return expected === actual ? undefined : mismatch(at, expected, actual)
}

/** One line of the codec's JSON (int64 exact, -0.0 kept, bytes as base64, NaN/Infinity as text); `undefined` named. */
export const show = (value: unknown): string => (value === undefined ? 'undefined' : writeJson(value))

/**
 * Compares two sequences record by record. Returns readable problems: a differing record with both
 * sides, then records missing at the end or not expected at all.
 */
export function compareSequences(what: string, expected: readonly unknown[], actual: readonly unknown[], limit = 5): string[] {
  const problems: string[] = []
  const n = Math.min(expected.length, actual.length)
  for (let i = 0; i < n && problems.length < limit; i++) {
    const d = difference(expected[i], actual[i])
    if (d) problems.push(`${what} #${i + 1} differs at ${d}\n    expected ${show(expected[i])}\n    actual   ${show(actual[i])}`)
  }
  for (let i = n; i < expected.length && problems.length < limit; i++) problems.push(`${what} #${i + 1} missing: expected ${show(expected[i])}`)
  for (let i = n; i < actual.length && problems.length < limit; i++) problems.push(`${what} #${i + 1} not expected: got ${show(actual[i])}`)
  if (expected.length !== actual.length) problems.push(`${what}: expected ${expected.length} records, got ${actual.length}`)
  return problems
}

/** Compares two collections in any order (table rows): what is missing and what is extra. */
export function compareSets(what: string, expected: readonly unknown[], actual: readonly unknown[], limit = 5): string[] {
  const left = [...actual]
  const missing: unknown[] = []
  for (const e of expected) {
    const i = left.findIndex((a) => difference(e, a) === undefined)
    if (i < 0) missing.push(e)
    else left.splice(i, 1)
  }
  return [
    ...missing.slice(0, limit).map((m) => `${what}: missing row ${show(m)}`),
    ...left.slice(0, limit).map((x) => `${what}: unexpected row ${show(x)}`),
    ...(missing.length + left.length > 0 ? [`${what}: ${missing.length} rows missing, ${left.length} unexpected (expected ${expected.length}, got ${actual.length})`] : []),
  ]
}

/** An exact int64: a bigint, or a number that is a safe integer (a larger one may be a rounded double). */
const isInt = (v: unknown): v is number | bigint => typeof v === 'bigint' || (Number.isSafeInteger(v) && !Object.is(v, -0))
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
const join = (at: string, k: string) => (at ? `${at}.${k}` : k)
const mismatch = (at: string, expected: unknown, actual: unknown) => `${at || 'value'}: expected ${show(expected)}, got ${show(actual)}`

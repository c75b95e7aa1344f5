import avro from 'avsc'
import type { Type } from 'avsc'
import { INT64_MAX, INT64_MIN } from '../values/long.ts'
import { isWellFormed } from '../values/utf8.ts'
import { CanonicalType } from './logical-types.ts'

/**
 * Words for type mismatches, shared by the encoder and conform: `<path>: expected <type>, got
 * <kind>`. Values themselves are never printed, since they end up in logs and DLQ headers and may
 * hold personal data.
 */

/** The JS kind of a value, with a hint when a number has the right kind but not the right range. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'no value'
  if (Array.isArray(value)) return 'array'
  if (Buffer.isBuffer(value)) return 'bytes'
  if (value instanceof Date) return 'Date'
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN'
    if (!Number.isInteger(value)) return 'non-integer number'
    return Number.isSafeInteger(value) ? 'number' : 'number beyond 2^53 (not exact: give a bigint)'
  }
  if (typeof value === 'bigint') return value < INT64_MIN || value > INT64_MAX ? 'bigint beyond 64 bits' : 'bigint'
  if (typeof value === 'string' && !isWellFormed(value)) return 'string with a lone surrogate (not valid Unicode)'
  return typeof value
}

/** A short label for what an avsc type accepts. */
export function typeLabel(type: Type): string {
  if (type instanceof CanonicalType) return type.describe()
  const t = type as Type & { types?: Type[]; symbols?: string[]; size?: number }
  switch (type.typeName) {
    case 'int':
      return 'int (32-bit integer)'
    case 'long':
      return 'long (64-bit integer: a safe integer number, or a bigint)'
    case 'record':
    case 'error':
      return `record ${type.name ?? ''}`.trim()
    case 'enum':
      return `one of ${JSON.stringify(t.symbols ?? [])}`
    case 'fixed':
      return `fixed(${t.size ?? 0}) bytes`
    case 'union:unwrapped':
    case 'union:wrapped':
      return `one of [${(t.types ?? []).map(shortName).join(', ')}]`
    default:
      return type.typeName.startsWith('logical:') ? type.typeName.slice(8) : type.typeName
  }
}

const shortName = (type: Type): string => type.name ?? (avro.Type.isType(type, 'logical') ? type.typeName.slice(8) : type.typeName)

/** Dotted path; array indices in brackets; '' for the value itself. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = ''
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`
    else out += out === '' ? s : `.${s}`
  }
  return out
}

/**
 * Why `value` does not fit `type`: the first offending field path and what it expected, e.g.
 * `field address.city: expected string, got number`. undefined when the value is valid.
 */
export function describeMismatch(type: Type, value: unknown): string | undefined {
  let found: string | undefined
  type.isValid(value, {
    errorHook: (path, val, t) => {
      if (found !== undefined) return
      const where = path.length === 0 ? 'value' : `field ${path.join('.')}`
      found = `${where}: expected ${typeLabel(t)}, got ${kindOf(val)}`
    },
  })
  return found
}

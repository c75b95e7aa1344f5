import { bigIntToBytes } from '../../codec/values/decimal.ts'
import { parseDecimalType } from './schema.ts'
import type { IcebergType } from './types.ts'

/**
 * Iceberg's single-value binary serialization (spec appendix D), used for column bounds in
 * manifests and partition bounds in manifest lists. Values are in the lake's internal form:
 * int/long/date/time/timestamps as numbers (days or micros), decimals as unscaled bigints,
 * strings as strings, binary as Buffers.
 */
export type InternalValue = boolean | number | bigint | string | Buffer

export function toBound(type: IcebergType, value: InternalValue): Buffer | undefined {
  if (typeof type !== 'string') return undefined
  switch (type) {
    case 'boolean':
      return Buffer.from([value ? 1 : 0])
    case 'int':
    case 'date': {
      const b = Buffer.alloc(4)
      b.writeInt32LE(Number(value))
      return b
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const b = Buffer.alloc(8)
      b.writeBigInt64LE(BigInt(value as number | bigint))
      return b
    }
    case 'float': {
      const b = Buffer.alloc(4)
      b.writeFloatLE(Number(value))
      return b
    }
    case 'double': {
      const b = Buffer.alloc(8)
      b.writeDoubleLE(Number(value))
      return b
    }
    case 'string':
      return Buffer.from(String(value), 'utf8')
    case 'binary':
      return Buffer.from(value as Buffer)
    case 'uuid':
      return Buffer.from(String(value).replace(/-/g, ''), 'hex')
    default:
      if (type.startsWith('fixed[')) return Buffer.from(value as Buffer)
      if (parseDecimalType(type)) return bigIntToBytes(BigInt(value as bigint | number))
      return undefined
  }
}

/** String bounds are truncated to this many code points, as Iceberg writers do by default. */
const STRING_BOUND_CHARS = 16

/** A lower bound for a string: its first code points (a prefix sorts no later than the string). */
export function truncateLower(value: string): string {
  const cps = Array.from(value)
  return cps.length <= STRING_BOUND_CHARS ? value : cps.slice(0, STRING_BOUND_CHARS).join('')
}

/** An upper bound for a string: the prefix with its last code point incremented, or undefined. */
export function truncateUpper(value: string): string | undefined {
  const cps = Array.from(value)
  if (cps.length <= STRING_BOUND_CHARS) return value
  const prefix = cps.slice(0, STRING_BOUND_CHARS)
  for (let i = prefix.length - 1; i >= 0; i--) {
    let cp = (prefix[i] as string).codePointAt(0) as number
    cp += 1
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000
    if (cp <= 0x10ffff) return prefix.slice(0, i).join('') + String.fromCodePoint(cp)
  }
  return undefined
}

/**
 * Canonical -> Debezium wire values, the inverse of semantic.ts, used to build events. Accepts the
 * canonical string and the natural alternatives (a JS Date for dates and timestamps, a number in
 * the wire unit); decimals must be strings to stay exact. Nano values beyond 2^53 come out as
 * bigints. Bytes come out as Buffers (Avro), which the JSON writer turns into base64.
 */

const dateText = /^([+-]?\d{4,6})-(\d{2})-(\d{2})$/
const timeText = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/
const timestampText = /^([+-]?\d{4,6}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/
const decimalText = /^([+-])?(\d+)(?:\.(\d+))?$/

export type Unit = 3 | 6 | 9

const perSecond = { 3: 1_000n, 6: 1_000_000n, 9: 1_000_000_000n } as const

const narrow = (n: bigint): number | bigint =>
  n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n

function fractionUnits(fraction: string | undefined, unit: Unit): bigint {
  const f = (fraction ?? '').padEnd(9, '0')
  if (/[1-9]/.test(f.slice(unit))) throw new Error(`has more precision than ${unit} fraction digits`)
  return BigInt(f.slice(0, unit) || '0')
}

function wholeNumber(v: number | bigint, what: string): number | bigint {
  if (typeof v === 'bigint') return narrow(v)
  if (!Number.isSafeInteger(v)) throw new Error(`${v} is not a safe integer ${what}`)
  return v
}

export function toEpochDays(v: unknown): number {
  if (typeof v === 'number') return wholeNumber(v, 'day count') as number
  if (v instanceof Date) return Math.floor(v.getTime() / 86_400_000)
  const m = typeof v === 'string' ? dateText.exec(v) : null
  if (m === null) throw new Error(`expected 'YYYY-MM-DD', a Date or a day count, got ${describe(v)}`)
  // setUTCFullYear, not Date.UTC, which maps years 0..99 to 1900..1999.
  const date = new Date(0)
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  if (date.getUTCMonth() !== Number(m[2]) - 1 || date.getUTCDate() !== Number(m[3])) throw new Error(`${String(v)} is not a valid date`)
  return date.getTime() / 86_400_000
}

export function toTimeOfDay(v: unknown, unit: Unit): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return wholeNumber(v, 'time of day')
  const m = typeof v === 'string' ? timeText.exec(v) : null
  if (m === null) throw new Error(`expected 'HH:MM:SS[.fraction]' or a number, got ${describe(v)}`)
  const seconds = BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]))
  return narrow(seconds * perSecond[unit] + fractionUnits(m[4], unit))
}

export function toEpochUnits(v: unknown, unit: Unit): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return wholeNumber(v, 'timestamp')
  if (v instanceof Date) return narrow(BigInt(v.getTime()) * (perSecond[unit] / 1000n))
  const m = typeof v === 'string' ? timestampText.exec(v) : null
  if (m === null) throw new Error(`expected an ISO 8601 timestamp, a Date or a number, got ${describe(v)}`)
  const zone = m[4] === undefined || m[4] === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4]
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`)
  if (Number.isNaN(ms)) throw new Error(`${String(v)} is not a valid timestamp`)
  return narrow(BigInt(ms / 1000) * perSecond[unit] + fractionUnits(m[3], unit))
}

/** A decimal string -> its unscaled value at `scale` (12.5 at scale 2 -> 1250n). */
export function toUnscaled(v: unknown, scale: number): bigint {
  const m = typeof v === 'string' ? decimalText.exec(v) : null
  if (m === null) throw new Error(`expected a decimal string such as '12.50', got ${describe(v)}`)
  const fraction = m[3] ?? ''
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) throw new Error(`${v} has more than ${scale} fraction digits`)
  const digits = BigInt(m[2]! + fraction.slice(0, scale).padEnd(scale, '0'))
  return m[1] === '-' ? -digits : digits
}

/** Minimal big-endian two's complement, as Java's BigInteger.toByteArray writes it. */
export function twosComplement(n: bigint): Buffer {
  let bytes = 1
  while (n < -(1n << BigInt(bytes * 8 - 1)) || n >= 1n << BigInt(bytes * 8 - 1)) bytes++
  const u = n < 0n ? (1n << BigInt(bytes * 8)) + n : n
  return Buffer.from(u.toString(16).padStart(bytes * 2, '0'), 'hex')
}

export function toDecimalBytes(v: unknown, scale: number): Buffer {
  return twosComplement(toUnscaled(v, scale))
}

/** VariableScaleDecimal keeps the scale the value was written with. */
export function toVariableScaleDecimal(v: unknown): { scale: number; value: Buffer } {
  const m = typeof v === 'string' ? decimalText.exec(v) : null
  if (m === null) throw new Error(`expected a decimal string, got ${describe(v)}`)
  const scale = m[3]?.length ?? 0
  return { scale, value: twosComplement(toUnscaled(v, scale)) }
}

export function toLong(v: unknown): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return wholeNumber(v, 'long')
  throw new Error(`expected an integer, got ${describe(v)}`)
}

export function toBytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length)
  throw new Error(`expected bytes (a Buffer), got ${describe(v)}`)
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (v === null) return 'null'
  if (typeof v === 'object') return Buffer.isBuffer(v) ? 'bytes' : v instanceof Date ? 'Date' : 'object'
  return `${typeof v} ${String(v)}`
}

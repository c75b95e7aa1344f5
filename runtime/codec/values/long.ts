/**
 * int64 in the value model (VALUES.md): a `number` while it is a safe integer (|v| <= 2^53-1), a
 * `bigint` beyond. Every reader produces that form; every writer accepts either, and refuses a
 * `number` that is not a safe integer, since it may already have been rounded.
 *
 * The Avro varint (zigzag) is read and written exactly here, for the reference types
 * (types/avro-types.ts); the generated writer (avro/fast-writer.ts) inlines the same arithmetic.
 */

export type Int64 = number | bigint

export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** The model's form of an int64 held as a bigint: a number when safe. */
export const narrow = (n: bigint): Int64 => (n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n)

/** A value the model accepts as an int64: a safe integer number, or a bigint in the 64-bit range. */
export const isInt64 = (v: unknown): v is Int64 =>
  typeof v === 'number' ? Number.isSafeInteger(v) : typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX

/** An int64 in model form, or undefined: a safe number stays, a bigint is narrowed, anything else fails. */
export function toInt64(v: unknown): Int64 | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? narrow(v) : undefined
  return undefined
}

/** Where an Avro varint is read from or written to: avsc's Tap has exactly this shape. */
export interface Cursor {
  buf: Buffer
  pos: number
}

/**
 * Reads one zigzag varint exactly. Up to four bytes stay in 32-bit integer arithmetic; longer ones
 * add up in a double, which is exact while the sum stays below 2^53 (every timestamp in micros
 * until 2112); beyond, in bigint. A varint running past the buffer leaves `pos` beyond its end (the
 * caller checks, as avsc does); one longer than ten bytes, or beyond 64 bits, throws.
 */
export function readLong(c: Cursor): Int64 {
  const buf = c.buf
  const start = c.pos
  let pos = start
  let b = buf[pos++]!
  if (b < 0x80) {
    c.pos = pos
    return (b >> 1) ^ -(b & 1)
  }
  let n = b & 0x7f
  let k = 7
  do {
    b = buf[pos++]!
    n |= (b & 0x7f) << k
    k += 7
  } while (b & 0x80 && k < 28)
  if (!(b & 0x80)) {
    c.pos = pos
    return (n >>> 1) ^ -(n & 1)
  }
  let f = n
  let fk = 268_435_456
  do {
    b = buf[pos++]!
    f += (b & 0x7f) * fk
    fk *= 128
  } while (b & 0x80 && fk < 72_057_594_037_927_936)
  if (!(b & 0x80) && f < 9_007_199_254_740_992) {
    c.pos = pos
    return (f % 2 ? -(f + 1) : f) / 2
  }
  if (pos > buf.length) {
    c.pos = pos
    return 0
  }
  return readBigLong(c, start)
}

function readBigLong(c: Cursor, start: number): Int64 {
  const buf = c.buf
  let z = 0n
  let shift = 0n
  let pos = start
  for (;;) {
    if (pos >= buf.length) {
      c.pos = buf.length + 1
      return 0
    }
    const b = buf[pos++]!
    z |= BigInt(b & 0x7f) << shift
    if (b < 0x80) break
    shift += 7n
    if (shift > 63n) throw new Error('varint is longer than ten bytes')
  }
  if (z >> 64n !== 0n) throw new Error('varint is beyond 64 bits')
  c.pos = pos
  return narrow(z & 1n ? -(z >> 1n) - 1n : z >> 1n)
}

/** Skips one varint (the caller checks `pos` against the buffer, as for reads). */
export function skipLong(c: Cursor): void {
  const buf = c.buf
  let pos = c.pos
  while (buf[pos++]! & 0x80);
  c.pos = pos
}

/**
 * Writes `n` (a safe integer or an int64 bigint; callers check) as a zigzag varint. Writes past the
 * end of the buffer are dropped by the typed array while `pos` still advances, so the caller sees
 * the overflow by `pos`, as with avsc's Tap.
 */
export function writeLong(c: Cursor, n: Int64): void {
  const buf = c.buf
  let pos = c.pos
  if (typeof n === 'number') {
    if (n >= -0x40000000 && n < 0x40000000) {
      let m = n >= 0 ? n << 1 : (~n << 1) | 1
      while (m > 0x7f) {
        buf[pos++] = (m & 0x7f) | 0x80
        m >>>= 7
      }
      buf[pos++] = m
    } else {
      // zigzag = 2a + s with a = n or -n-1: the low byte from a's low six bits, the rest from a / 64,
      // all exact in doubles below 2^53 (the float arithmetic avsc uses flips the sign below -2^52).
      const negative = n < 0
      const a = negative ? -n - 1 : n
      let q = Math.floor(a / 64)
      buf[pos++] = ((a % 64) * 2 + (negative ? 1 : 0)) | 0x80
      while (q > 0x7f) {
        buf[pos++] = (q % 128) | 0x80
        q = Math.floor(q / 128)
      }
      buf[pos++] = q
    }
  } else {
    let z = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n
    while (z > 0x7fn) {
      buf[pos++] = Number(z & 0x7fn) | 0x80
      z >>= 7n
    }
    buf[pos++] = Number(z)
  }
  c.pos = pos
}

/**
 * Exact decimals: the unscaled integer as a bigint, its big-endian two's-complement bytes (Avro
 * `decimal`, Kafka Connect `Decimal`) and the canonical string with exactly `scale` fraction digits.
 */

const DECIMAL_RE = /^([+-]?)(\d+)(?:\.(\d+))?$/

/** The unscaled value of big-endian two's-complement bytes (empty bytes are 0). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n
  if (bytes.length <= 6) {
    // Fast path: fits a safe integer.
    let n = 0
    for (const b of bytes) n = n * 256 + b
    if ((bytes[0] as number) & 0x80) n -= 2 ** (8 * bytes.length)
    return BigInt(n)
  }
  const unsigned = BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`)
  return (bytes[0] as number) & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned
}

/**
 * Two's-complement bytes of `n`: the fewest that hold it, or exactly `size` (sign-extended);
 * undefined when `n` does not fit `size` bytes.
 */
export function bigIntToBytes(n: bigint, size?: number): Buffer | undefined {
  let length = 1
  while (n < -(1n << BigInt(8 * length - 1)) || n >= 1n << BigInt(8 * length - 1)) length++
  if (size !== undefined) {
    if (length > size) return undefined
    length = size
  }
  const unsigned = n < 0n ? (1n << BigInt(8 * length)) + n : n
  return Buffer.from(unsigned.toString(16).padStart(length * 2, '0'), 'hex')
}

/** '-12.50' for unscaled -1250 at scale 2; no point at scale 0. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString()
  if (scale === 0) return negative ? `-${digits}` : digits
  const padded = digits.padStart(scale + 1, '0')
  const split = padded.length - scale
  return `${negative ? '-' : ''}${padded.slice(0, split)}.${padded.slice(split)}`
}

/**
 * The unscaled value of a decimal string at `scale`, or undefined when it is not a plain decimal
 * or has non-zero digits beyond the scale (which would be lost).
 */
export function parseDecimal(text: string, scale: number): bigint | undefined {
  const m = DECIMAL_RE.exec(text)
  if (!m) return undefined
  const fraction = m[3] ?? ''
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) return undefined
  const unscaled = BigInt((m[2] as string) + fraction.slice(0, scale).padEnd(scale, '0'))
  return m[1] === '-' ? -unscaled : unscaled
}

/** The largest precision `size` two's-complement bytes can always hold. */
export const maxPrecisionForSize = (size: number): number => Math.floor(Math.log10(2) * (8 * size - 1))

/**
 * The two's-complement bytes of a decimal string at `scale`, or undefined when it is not a plain
 * decimal, loses digits beyond the scale, has more than `precision` digits or does not fit `size`.
 * Values of up to 14 digits (below 2^47, most amounts) take a path without bigints.
 */
export function decimalToBytes(text: string, scale: number, precision: number, size?: number): Buffer | undefined {
  const fast = smallCanonical(text, scale)
  if (fast !== undefined) return Math.abs(fast) < 10 ** precision ? smallToBytes(fast, size) : undefined
  const m = DECIMAL_RE.exec(text)
  if (!m) return undefined
  const fraction = m[3] ?? ''
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) return undefined
  const digits = ((m[2] as string) + fraction.slice(0, scale).padEnd(scale, '0')).replace(/^0+(?=\d)/, '')
  if (digits.length > precision) return undefined
  const negative = m[1] === '-'
  if (digits.length <= 14) return smallToBytes(negative ? -Number(digits) : Number(digits), size)
  const big = BigInt(digits)
  return bigIntToBytes(negative ? -big : big, size)
}

/** The decimal string of two's-complement bytes at `scale`. */
export function bytesToDecimal(bytes: Uint8Array, scale: number): string {
  return bytesToDecimalAt(bytes, 0, bytes.length, scale)
}

/** bytesToDecimal of bytes[start, end), without a view of the range (decoders read in place). */
export function bytesToDecimalAt(bytes: Uint8Array, start: number, end: number, scale: number): string {
  const length = end - start
  if (length > 6) return formatDecimal(bytesToBigInt(bytes.subarray(start, end)), scale)
  let n = 0
  for (let i = start; i < end; i++) n = n * 256 + (bytes[i] as number)
  if (length > 0 && (bytes[start] as number) & 0x80) n -= 2 ** (8 * length)
  const negative = n < 0
  const abs = negative ? -n : n
  if (scale === 0) return negative ? `-${abs}` : String(abs)
  if (scale > 15) return formatDecimal(BigInt(n), scale)
  // |n| < 2^47: whole and fraction parts by exact double arithmetic, no padding of the whole.
  const unit = 10 ** scale
  let whole = Math.floor(abs / unit)
  let fraction = abs - whole * unit
  if (fraction < 0) {
    whole -= 1
    fraction += unit
  }
  const text = scale === 2 ? TWO_DIGITS[fraction]! : String(fraction).padStart(scale, '0')
  return negative ? `-${whole}.${text}` : `${whole}.${text}`
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'))

/**
 * The unscaled value of a short canonical decimal ('-123.45' at scale 2: digits, then exactly
 * `scale` fraction digits), read by char code; undefined for anything else (the general path decides).
 * decimalToBytes writes such a value (below 10^precision) as smallToBytes's minimal two's complement.
 */
export function smallCanonical(text: string, scale: number): number | undefined {
  const negative = text.charCodeAt(0) === 45
  const start = negative ? 1 : 0
  const point = scale > 0 ? text.length - scale - 1 : text.length
  if (point <= start || text.length - start > 15 || (scale > 0 && text.charCodeAt(point) !== 46)) return undefined
  let n = 0
  for (let i = start; i < text.length; i++) {
    if (i === point) continue
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  return negative ? -n : n
}

// |n| < 2^47: exact in a double, and byte arithmetic with % and / stays exact.
function smallToBytes(n: number, size?: number): Buffer | undefined {
  let length = 1
  while (n < -(2 ** (8 * length - 1)) || n >= 2 ** (8 * length - 1)) length++
  if (size !== undefined) {
    if (length > size) return undefined
    length = size
  }
  const out = Buffer.allocUnsafe(length)
  let v = n
  for (let i = length - 1; i >= 0; i--) {
    const low = ((v % 256) + 256) % 256
    out[i] = low
    v = (v - low) / 256
  }
  return out
}

import { isUtf8 } from 'node:buffer'

/**
 * Strings in the value model are valid Unicode: decoded from valid UTF-8, and written only when
 * they have no lone surrogate. Node's decoders replace invalid bytes with U+FFFD without a word,
 * so every reader checks first (`isUtf8` is native and fast), and an invalid string is a dead
 * letter with TRIB_DECODE_UTF8 naming the field.
 *
 * To name the field, invalid bytes are decoded as lone surrogates (Python's "surrogateescape":
 * byte 0xNN becomes U+DCNN), which valid UTF-8 can never produce; the decoded value is then
 * searched for the first string holding one.
 */

export { isUtf8 }

/** True when the string can be written as UTF-8 as it is: no lone surrogate. */
export const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed()

/** UTF-8 text with every byte of an invalid sequence as a lone surrogate U+DC80..U+DCFF. */
export function decodeEscaped(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = ''
  let run = start
  let i = start
  while (i < end) {
    const b = bytes[i]!
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (n > 0 && i + n <= end && isUtf8(bytes.subarray(i, i + n))) {
      i += n
      continue
    }
    out += Buffer.from(bytes.buffer, bytes.byteOffset + run, i - run).toString('utf8') + String.fromCharCode(0xdc00 | b)
    i++
    run = i
  }
  return out + Buffer.from(bytes.buffer, bytes.byteOffset + run, end - run).toString('utf8')
}

/**
 * The path of the first string (or map key) with a lone surrogate in a decoded value, as segments
 * (`['after', 'name']`, `['tags', 2]`); undefined when every string is well formed.
 */
export function findIllFormed(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return isWellFormed(value) ? undefined : path
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Date) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormed(value[i], [...path, i])
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [k, v] of Object.entries(value)) {
    if (!isWellFormed(k)) return [...path, k]
    const found = findIllFormed(v, [...path, k])
    if (found !== undefined) return found
  }
  return undefined
}

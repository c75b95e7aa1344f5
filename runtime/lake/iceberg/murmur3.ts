/**
 * 32-bit Murmur3 (x86 variant, seed 0): the hash Iceberg's bucket transform is defined with
 * (spec appendix B). Returns a signed 32-bit integer like Java's.
 */
export function murmur3(bytes: Uint8Array): number {
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = 0
  const blocks = bytes.length >>> 2
  for (let i = 0; i < blocks; i++) {
    const o = i * 4
    let k = (bytes[o] as number) | ((bytes[o + 1] as number) << 8) | ((bytes[o + 2] as number) << 16) | ((bytes[o + 3] as number) << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = blocks * 4
  let k = 0
  const rest = bytes.length & 3
  if (rest > 0) {
    if (rest === 3) k ^= (bytes[tail + 2] as number) << 16
    if (rest >= 2) k ^= (bytes[tail + 1] as number) << 8
    k ^= bytes[tail] as number
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= bytes.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h | 0
}

/**
 * Kafka's default partitioner for keyed records (murmur2 of the key bytes, made positive, modulo
 * the partition count). Using the same function on every backend means a key lands on the same
 * partition in embedded mode and on a Kafka broker, so per-key order and outputs compare equal.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = 0x9747b28c ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = length & 3
  if (rest === 3) h ^= data[whole + 2]! << 16
  if (rest >= 2) h ^= data[whole + 1]! << 8
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

export const partitionForKey = (key: Uint8Array, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions

/** Null keys spread round-robin, per topic. */
export function createPartitioner(): (topic: string, key: Uint8Array | null, partitions: number) => number {
  const next = new Map<string, number>()
  return (topic, key, partitions) => {
    if (key !== null) return partitionForKey(key, partitions)
    const n = next.get(topic) ?? 0
    next.set(topic, n + 1)
    return n % partitions
  }
}

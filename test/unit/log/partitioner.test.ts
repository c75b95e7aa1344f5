import { describe, expect, it } from 'vitest'
import { createPartitioner, murmur2, partitionForKey } from '../../../runtime/log/partitioner.ts'

describe('murmur2 (Kafka-compatible)', () => {
  // Vectors from Kafka's own UtilsTest, so a key maps to the same partition as on a broker.
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ]
  it.each(vectors)('hashes %s', (input, expected) => {
    expect(murmur2(Buffer.from(input))).toBe(expected)
  })

  it('is stable and in range for partitions', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(Buffer.from(`key-${i}`), 7)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThan(7)
      expect(partitionForKey(Buffer.from(`key-${i}`), 7)).toBe(p)
    }
  })

  it('spreads null keys round-robin per topic', () => {
    const choose = createPartitioner()
    expect([0, 1, 2, 3].map(() => choose('t', null, 3))).toEqual([0, 1, 2, 0])
    expect(choose('u', null, 3)).toBe(0)
  })
})

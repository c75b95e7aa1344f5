import { describe, expect, it } from 'vitest'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { truncateHeaders, TruncateBarrier } from '../../../runtime/log/change-headers.ts'

/**
 * A truncate written into every partition must be applied after everything written before it and
 * before everything written after it, however the partitions interleave when read. Checked over
 * many random interleavings and batchings of a written history of rows and truncates.
 */
const PARTITIONS = 3

function rng(seed: number): () => number {
  let s = seed
  return () => ((s = (s * 48271) % 2147483647) / 2147483647)
}

/** The history as written: rows (key k into partition k % PARTITIONS) and truncates into every partition. */
function written(random: () => number): { records: LogRecord[][]; truth: string[] } {
  const parts: LogRecord[][] = Array.from({ length: PARTITIONS }, () => [])
  const truth: string[] = []
  for (let i = 0; i < 60; i++) {
    if (random() < 0.1) {
      truth.push('T')
      for (const [p, list] of parts.entries()) list.push({ topic: 't', partition: p, offset: list.length, timestamp: 0, key: null, value: null, headers: truncateHeaders() })
    } else {
      const k = Math.floor(random() * 9)
      truth.push(`k${k}=${i}`)
      const list = parts[k % PARTITIONS]!
      list.push({ topic: 't', partition: k % PARTITIONS, offset: list.length, timestamp: 0, key: Buffer.from(`k${k}`), value: Buffer.from(String(i)), headers: {} })
    }
  }
  return { records: parts, truth }
}

/** The final table: applying the history in written order, or the records in the order the barrier hands them out. */
function table(apply: Array<string | [LogRecord, boolean]>): Map<string, string> {
  const t = new Map<string, string>()
  for (const a of apply) {
    if (a === 'T') t.clear()
    else if (typeof a === 'string') t.set(a.split('=')[0]!, a.split('=')[1]!)
    else if (a[1]) t.clear()
    else if (a[0].key) t.set(a[0].key.toString(), a[0].value!.toString())
  }
  return t
}

describe('TruncateBarrier', () => {
  it('gives the written order of rows and truncates whatever the interleaving of partitions and batches', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed)
      const { records, truth } = written(random)
      // A reader's view: partitions interleaved at random, each in order, cut into random batches.
      const cursors = records.map(() => 0)
      const read: LogRecord[] = []
      while (read.length < records.flat().length) {
        const p = Math.floor(random() * PARTITIONS)
        if (cursors[p]! < records[p]!.length) read.push(records[p]![cursors[p]!++]!)
      }
      const barrier = new TruncateBarrier(PARTITIONS)
      const out: Array<[LogRecord, boolean]> = []
      for (let i = 0; i < read.length; ) {
        const n = 1 + Math.floor(random() * 7)
        out.push(...barrier.take(read.slice(i, i + n)))
        i += n
      }
      expect(table(out), `seed ${seed}`).toEqual(table(truth))
      // Every record comes out exactly once, each partition in offset order, one truncate per written one.
      expect(out.length).toBe(read.length)
      for (let p = 0; p < PARTITIONS; p++) expect(out.filter(([r]) => r.partition === p).map(([r]) => r.offset)).toEqual(records[p]!.map((r) => r.offset))
      expect(out.filter(([, t]) => t).length).toBe(truth.filter((t) => t === 'T').length)
    }
  })
})

import { describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../connectors/embedded-log/index.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { keyFor, valueFor } from '../unit/embedded-log/fixtures/content.ts'
import { spawnWorker, type Worker } from '../unit/embedded-log/fixtures/spawn.ts'
import { readAll, tempDir } from '../unit/embedded-log/fixtures/tmp.ts'

const ITERATIONS = 20
// Small segments and journal files, so kills also land on segment rolls and journal rotations.
const SEGMENT_BYTES = '65536'
const JOURNAL_BYTES = '16384'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts a worker, lets it run for a random while once it is working, then SIGKILLs it. */
async function runAndKill(args: string[], runMs: number): Promise<Worker> {
  const w = spawnWorker(args)
  try {
    await w.waitFor((l) => l === 'ready')
    await sleep(runMs)
  } finally {
    w.child.kill('SIGKILL')
  }
  const { signal } = await w.exited
  expect(signal, w.stderr()).toBe('SIGKILL')
  return w
}

describe('embedded log under SIGKILL', () => {
  it('never loses an acknowledged append and never leaves a corrupt log', { timeout: 240_000 }, async () => {
    const dir = tempDir()
    const acked = new Map<string, { tag: string; seq: number }>()
    for (let i = 0; i < ITERATIONS; i++) {
      const tag = `i${i}`
      const w = await runAndKill(['append', dir, 'kill', '4', '-1', tag, SEGMENT_BYTES, JOURNAL_BYTES], 20 + Math.random() * 300)
      for (const line of w.lines) {
        if (!line.startsWith('ack ')) continue
        const [, partition, offset, t, seq] = line.split(' ')
        acked.set(`${partition}:${offset}`, { tag: t!, seq: Number(seq) })
      }

      const log = await openEmbeddedLog({ dir }) // any CRC problem throws here or in readAll
      const info = (await log.describeTopic('kill'))!
      const records = await readAll(log, 'kill')
      await log.close()
      expect(records).toHaveLength(info.partitions.reduce((n, p) => n + p.end, 0))
      for (const p of info.partitions) {
        const offsets = records.filter((r) => r.partition === p.partition).map((r) => r.offset)
        expect(offsets).toEqual(offsets.map((_, k) => k))
      }
      const byPosition = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]))
      const problems: string[] = []
      for (const [position, { tag: t, seq }] of acked) {
        const r = byPosition.get(position)
        if (r === undefined) problems.push(`acknowledged record ${position} (${t}#${seq}) lost`)
        else if (!r.value!.equals(valueFor(t, seq)) || !r.key!.equals(keyFor(seq)) || r.timestamp !== seq) problems.push(`record ${position} differs`)
      }
      expect(problems.slice(0, 5), `after kill ${i}`).toEqual([])
    }
    expect(acked.size).toBeGreaterThan(ITERATIONS * 10)
  })

  it('makes each consume->produce step all-or-nothing: outputs and offsets together', { timeout: 240_000 }, async () => {
    const dir = tempDir()
    const seedLog = await openEmbeddedLog({ dir })
    await seedLog.ensureTopic('in', { partitions: 3 })
    await seedLog.ensureTopic('out', { partitions: 2 })
    await seedLog.close()
    let produced = 0
    const addInputs = async (n: number): Promise<void> => {
      const log = await openEmbeddedLog({ dir })
      const batch: OutgoingRecord[] = []
      for (let k = 0; k < n; k++, produced++) batch.push({ topic: 'in', key: keyFor(produced), value: valueFor('in', produced) })
      await log.append(batch)
      await log.close()
    }
    await addInputs(2000)

    let lastCommitted = 0
    for (let i = 0; i < ITERATIONS; i++) {
      await addInputs(300)
      await runAndKill(['step', dir, 'in', 'out', 'proc', SEGMENT_BYTES, JOURNAL_BYTES], 20 + Math.random() * 300)

      const log = await openEmbeddedLog({ dir })
      const committed = new Map((await log.groupOffsets('proc')).map((o) => [o.partition, o.offset]))
      const outputs = (await readAll(log, 'out')).map((r) => r.value!.toString())
      await log.close()
      const expected: string[] = []
      for (const [partition, offset] of committed) for (let o = 0; o < offset; o++) expected.push(`${partition}:${o}`)
      expect(outputs.sort(), `after kill ${i}`).toEqual(expected.sort())
      lastCommitted = expected.length
    }
    expect(lastCommitted).toBeGreaterThan(ITERATIONS)
  })
})

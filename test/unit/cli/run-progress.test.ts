import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openMemoryLog } from '../../../connectors/memory-log/index.ts'
import { RunProgress } from '../../../runtime/cli/run-progress.ts'
import { readVersionBook, registerMajors } from '../../../runtime/lifecycle/book.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { productsDir, repoRoot } from '../../helpers/runtime.ts'

const v1 = loadProduct(path.join(productsDir, 'user-profiles'))
const v2 = loadProduct(path.join(repoRoot, 'test/fixtures/versions/user-profiles-v2'))
const users = 'registration.public.users'
const tty = () => {
  const writes: string[] = []
  return { isTTY: true, writes, write: (t: string) => writes.push(t) }
}

/** A log with 300 + 100 input records, major 1 and 2 registered (2's target: those 400), and major 2's group at `committed`. */
async function setUp(committed: [number, number]) {
  const log = openMemoryLog()
  await log.ensureTopic(users, { partitions: 2 })
  const record = (partition: number) => ({ topic: users, partition, key: null, value: Buffer.from('x') })
  await log.append([...Array.from({ length: 300 }, () => record(0)), ...Array.from({ length: 100 }, () => record(1))])
  const book = await readVersionBook(log)
  await registerMajors(log, book, [v1, v2])
  const consumer = log.consumer({ group: v2.name, topics: [users] })
  await consumer.commit({ offsets: [{ topic: users, partition: 0, offset: committed[0] }, { topic: users, partition: 1, offset: committed[1] }] })
  await consumer.close()
  return { log, book }
}

describe('the progress of run', () => {
  it('shows a new major backfilling toward the input ends recorded when it first started, from where a crashed run committed', async () => {
    const { log, book } = await setUp([150, 10])
    // Records appended after the major first started are beyond its backfill: not in the target.
    await log.append([{ topic: users, partition: 0, key: null, value: Buffer.from('later') }])
    const stream = tty()
    const progress = new RunProgress(log, book, [v2], 'processing', { stream })
    await progress.start()
    expect(stream.writes.at(-1)).toMatch(/^\r\x1b\[2Kbackfill user-profiles\.v2 \[#{10}\.{14}\] 40% 160\/400 records/)
    await progress.done()
    expect(stream.writes.at(-1)).toBe('\r\x1b[2Kbackfill user-profiles.v2 stopped at 160 of 400 records (the next run resumes there)\n')
  })

  it('is the generic bar for a major with no older one, and for a backfill already complete', async () => {
    const { log, book } = await setUp([300, 100])
    for (const products of [[v1], [v2]]) {
      const stream = tty()
      const progress = new RunProgress(log, book, products, 'processing', { stream })
      await progress.start()
      expect(stream.writes.join('')).not.toMatch(/backfill/)
      expect(stream.writes.at(-1)).toMatch(/^\r\x1b\[2Kprocessing /)
    }
  })

  it('draws nothing when not on a terminal', async () => {
    const { log, book } = await setUp([0, 0])
    const stream = { isTTY: false, writes: [] as string[], write(t: string) { this.writes.push(t) } }
    const progress = new RunProgress(log, book, [v2], 'processing', { stream })
    await progress.start()
    progress.batch(10)
    await progress.done()
    expect(stream.writes).toEqual([])
  })
})

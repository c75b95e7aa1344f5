import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { OFFSETS_PROPERTY, SnapshotCompactor, TRUNCATE_PROPERTY } from '../../../runtime/compactor/compactor.ts'
import { snapshotTargets } from '../../../runtime/compactor/targets.ts'
import { truncateHeaders } from '../../../runtime/log/change-headers.ts'
import type { Table } from '../../../runtime/lake/table.ts'
import { openTestLake, type TestLake } from '../../helpers/lake.ts'
import { cleanup, copy, drain, setup, type Setup } from '../processor/ticks.ts'

/**
 * The compactor as the lake's sink, on the memory log and a file lake in a temp folder: the tick
 * product's processor writes the port's topic, the compactor turns it into a table, exactly once,
 * each commit carrying the offsets it covers.
 */
interface Sink {
  s: Setup
  lake: TestLake
  compactor(): Promise<SnapshotCompactor>
  /** Processes ticks into the port's topic. */
  produce(...ticks: Array<{ id: number; note: string }>): Promise<void>
  rows(t: Table): Promise<Array<[number, string]>>
  /** The next offset of each non-empty partition of the port's topic: what a commit of all of it covers. */
  ends(): Promise<Record<string, number>>
  /** A truncate marker in every partition of the port's topic, as the encoder writes one. */
  truncate(): Promise<void>
}

async function sink(snapshot: string): Promise<Sink> {
  const s = await setup({ snapshot })
  const lake = await openTestLake(`file://${path.join(s.root, 'lake')}`)
  cleanup.push(() => lake.close())
  const processor = await s.processor(copy)
  const target = snapshotTargets(s.product).find((t) => t.kind === 'port')!
  return {
    s,
    lake,
    async compactor() {
      const c = new SnapshotCompactor(s.product, target, { log: s.log, serde: s.codec.serde, stateDir: path.join(s.root, 'state'), catalog: lake.catalog })
      cleanup.push(() => c.close())
      await c.start()
      return c
    },
    async produce(...ticks) {
      await s.send(...ticks)
      await drain(processor)
    },
    async ends() {
      const info = await s.log.describeTopic(target.topic)
      return Object.fromEntries(info!.partitions.filter((p) => p.end > 0).map((p) => [String(p.partition), p.end]))
    },
    async truncate() {
      const info = await s.log.describeTopic(target.topic)
      await s.log.append(info!.partitions.map((p) => ({ topic: target.topic, partition: p.partition, key: null, value: null, headers: truncateHeaders() })))
    },
    async rows(t) {
      const conn = await lake.lake.duckdb.connect()
      try {
        const rows = (await conn.runAndReadAll(`SELECT id, note FROM (${await t.sql()}) ORDER BY id, note`)).getRows()
        return rows.map(([id, note]) => [Number(id), String(note)])
      } finally {
        conn.closeSync()
      }
    },
  }
}

/** Compacts until the topic is read to its end; the last empty step commits. */
const compact = async (c: SnapshotCompactor) => {
  while ((await c.step(0)) > 0 || !c.idle());
}
const offsetsOf = (t: Table) => JSON.parse(t.snapshot()?.summary[OFFSETS_PROPERTY] ?? '{}') as Record<string, number>

describe('the compactor (the lake sink)', () => {
  it('append: commits the rows with the offsets they cover; after a restart it resumes there, without duplicates', async () => {
    const k = await sink('{ mode: append, commit: { interval: 1h } }')
    await k.produce({ id: 1, note: 'a' }, { id: 2, note: 'b' }, { id: 1, note: 'c' })
    const first = await k.compactor()
    await compact(first)
    expect(await k.rows(first.table!)).toEqual([[1, 'a'], [1, 'c'], [2, 'b']])
    expect(offsetsOf(first.table!)).toEqual(await k.ends())
    await first.close()

    await k.produce({ id: 3, note: 'd' })
    const second = await k.compactor()
    await compact(second)
    expect(await k.rows(second.table!)).toEqual([[1, 'a'], [1, 'c'], [2, 'b'], [3, 'd']])
    expect(offsetsOf(second.table!)).toEqual(await k.ends())
  })

  it('a compactor stopped after reading but before committing leaves no trace; the next one commits those records once', async () => {
    const k = await sink('{ mode: append, commit: { interval: 1h } }')
    await k.produce({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    const crashed = await k.compactor()
    // Reads the records (a wait, not 0: with 0 an empty poll would commit).
    expect(await crashed.step(50)).toBe(2)
    await crashed.close()
    const next = await k.compactor()
    expect(next.table!.snapshot()).toBeUndefined()
    await compact(next)
    expect(await k.rows(next.table!)).toEqual([[1, 'a'], [2, 'b']])
    expect(offsetsOf(next.table!)).toEqual(await k.ends())
  })

  it('upsert: keeps the last value per key across commits and restarts, the key index rebuilt from the table', async () => {
    const k = await sink('{ mode: upsert, commit: { interval: 1h } }')
    await k.produce({ id: 1, note: 'a' }, { id: 2, note: 'b' }, { id: 1, note: 'a2' })
    const first = await k.compactor()
    await compact(first)
    expect(await k.rows(first.table!)).toEqual([[1, 'a2'], [2, 'b']])
    await first.close()
    await k.produce({ id: 2, note: 'b2' }, { id: 3, note: 'c' })
    const second = await k.compactor()
    await compact(second)
    expect(await k.rows(second.table!)).toEqual([[1, 'a2'], [2, 'b2'], [3, 'c']])
    expect(offsetsOf(second.table!)).toEqual(await k.ends())
  })

  it('upsert: a truncate marker empties the table in one snapshot, marked as such, and later rows follow it', async () => {
    const k = await sink('{ mode: upsert, commit: { interval: 1h } }')
    await k.produce({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    const c = await k.compactor()
    await compact(c)
    await k.truncate()
    await k.produce({ id: 3, note: 'c' })
    await compact(c)
    expect(await k.rows(c.table!)).toEqual([[3, 'c']])
    expect(c.table!.snapshot()?.summary[TRUNCATE_PROPERTY]).toBeDefined()
    expect(offsetsOf(c.table!)).toEqual(await k.ends())
    expect(c.stats.truncatesIgnored).toBe(0)
  })

  it('append: a truncate marker is ignored (the history stays) and counted', async () => {
    const k = await sink('{ mode: append, commit: { interval: 1h } }')
    await k.produce({ id: 1, note: 'a' })
    await k.truncate()
    const c = await k.compactor()
    await compact(c)
    expect(await k.rows(c.table!)).toEqual([[1, 'a']])
    expect(c.stats.truncatesIgnored).toBe(1)
    expect(offsetsOf(c.table!)).toEqual(await k.ends())
  })
})

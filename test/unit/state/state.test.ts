import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { openMemoryLog } from '../../../connectors/memory-log/index.ts'
import { MemoryStateDb, StateDb, type StateStores } from '../../../runtime/state/db.ts'
import { PartitionedState } from '../../../runtime/state/kv.ts'

const dirs: string[] = []
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-state-'))
  dirs.push(d)
  return d
}
const opened: StateStores[] = []
const openDisk = (dir = tempDir()) => {
  const db = StateDb.open(dir)
  opened.push(db)
  return db
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => {})
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

type Op =
  | { kind: 'apply'; store: string; changes: Array<[string, unknown]>; partition: number; offset: number; emptyFirst: boolean }
  | { kind: 'clear'; store: string }

const store = fc.constantFrom('a', 'b')
const key = fc.constantFrom('k1', 'k2', 'k3', 'k\u0000x', '')
const value = fc.oneof(
  fc.constant(undefined),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.record({ id: fc.integer(), name: fc.string(), tags: fc.array(fc.string(), { maxLength: 3 }) }),
)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('apply' as const), store, changes: fc.array(fc.tuple(key, value), { maxLength: 5 }), partition: fc.nat(2), offset: fc.nat(1000), emptyFirst: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), store }) },
)

function run(db: StateStores, ops: readonly Op[]): void {
  for (const o of ops) {
    if (o.kind === 'clear') db.clear(o.store)
    else db.apply(o.store, o.changes, [{ topic: 't', partition: o.partition, offset: o.offset }], o.emptyFirst)
  }
}
const snapshot = (db: StateStores) =>
  Object.fromEntries(
    ['a', 'b'].map((s) => [
      s,
      {
        values: Object.fromEntries(['k1', 'k2', 'k3', 'k\u0000x', ''].map((k) => [k, db.get(s, k)])),
        positions: [...db.positions(s)].sort((x, y) => x.partition - y.partition),
      },
    ]),
  )

describe('the state stores (LMDB on disk, memory for tributary test)', () => {
  it('agree with each other after any sequence of puts, deletes, truncates and clears (generated)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const disk = openDisk()
        const memory = new MemoryStateDb()
        run(disk, ops)
        run(memory, ops)
        expect(snapshot(disk)).toEqual(snapshot(memory))
      }),
      { numRuns: 40 },
    )
  })

  it('keep values and positions across a close and reopen, and truncate with emptyFirst in the same step', async () => {
    const dir = tempDir()
    const db = StateDb.open(dir)
    db.apply('s', [['x', { n: 1 }], ['y', 'kept']], [{ topic: 't', partition: 0, offset: 5 }])
    db.apply('s', [['z', 3]], [{ topic: 't', partition: 0, offset: 9 }], true)
    await db.close()
    const again = openDisk(dir)
    expect([again.get('s', 'x'), again.get('s', 'y'), again.get('s', 'z')]).toEqual([undefined, undefined, 3])
    expect(again.positions('s')).toEqual([{ topic: 't', partition: 0, offset: 9 }])
  })

  it('the memory store hands out copies, so changing a returned value changes nothing stored', () => {
    const db = new MemoryStateDb()
    db.apply('s', [['x', { list: [1] }]], [])
    ;(db.get('s', 'x') as { list: number[] }).list.push(2)
    expect(db.get('s', 'x')).toEqual({ list: [1] })
  })
})

describe('ctx.state (PartitionedState)', () => {
  const TOPIC = 'p-state-changelog'

  it('get/put/delete per partition; a discarded record leaves no trace; the batch becomes the changelog', () => {
    const state = new PartitionedState(new MemoryStateDb(), TOPIC)
    state.begin(0)
    state.api.put('count', 1)
    state.api.put('gone', 'x')
    state.api.delete('gone')
    expect([state.api.get('count'), state.api.get('gone')]).toEqual([1, undefined])
    state.keep()
    state.begin(1)
    expect(state.api.get('count')).toBeUndefined() // another partition's store
    state.api.put('count', 99n ** 9n) // beyond 2^53: must come back exact
    state.discard()
    expect(state.api.get('count')).toBeUndefined()
    state.api.put('count', 2n ** 60n)
    state.keep()
    expect(state.api.get('count')).toBe(2n ** 60n)
    expect(() => state.api.put('u', undefined)).toThrow(expect.objectContaining({ code: 'TRIB_TRANSFORM_OUTPUT' }))
    const changelog = state.changelog().map((r) => ({ partition: r.partition, key: r.key?.toString(), value: r.value?.toString() ?? null }))
    expect(changelog.sort((a, b) => a.partition! - b.partition! || a.key!.localeCompare(b.key!))).toEqual([
      { partition: 0, key: 'count', value: '1' },
      { partition: 0, key: 'gone', value: null },
      { partition: 1, key: 'count', value: String(2n ** 60n) },
    ])
  })

  it('a fresh machine restores the committed state from the changelog, and a second restore reads nothing', async () => {
    const log = openMemoryLog()
    await log.ensureTopic(TOPIC, { partitions: 2 })
    const first = new PartitionedState(openDisk(), TOPIC)
    for (const [partition, n] of [[0, 1], [1, 2], [0, 3]] as const) {
      first.begin(partition)
      first.api.put('last', n)
      first.api.put(`seen-${n}`, { n, big: 2n ** 63n - 1n })
      if (n === 3) first.api.delete('seen-1')
      first.keep()
      first.committed(await log.append(first.changelog()))
    }
    const fresh = new PartitionedState(openDisk(), TOPIC)
    expect(await fresh.restore(log)).toBeGreaterThan(0)
    const read = (partition: number, key: string) => {
      fresh.begin(partition)
      return fresh.api.get(key)
    }
    expect([read(0, 'last'), read(1, 'last'), read(0, 'seen-1'), read(0, 'seen-3'), read(1, 'seen-2')]).toEqual([
      3,
      2,
      undefined,
      { n: 3, big: 2n ** 63n - 1n },
      { n: 2, big: 2n ** 63n - 1n },
    ])
    expect(await fresh.restore(log)).toBe(0)
    await log.close()
  })
})

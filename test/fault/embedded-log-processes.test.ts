import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openEmbeddedLog } from '../../connectors/embedded-log/index.ts'
import { log as moduleLog } from '../../connectors/embedded-log/logger.ts'
import { TributaryError } from '../../runtime/errors.ts'
import { keyFor, valueFor } from '../unit/embedded-log/fixtures/content.ts'
import { spawnWorker, type Worker } from '../unit/embedded-log/fixtures/spawn.ts'
import { readAll, segmentFiles, tempDir } from '../unit/embedded-log/fixtures/tmp.ts'

/** A pid that certainly belonged to a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!

const workers: Worker[] = []
const start = (args: string[], env: Record<string, string> = {}): Worker => {
  const w = spawnWorker(args, env)
  workers.push(w)
  return w
}

interface Ack {
  partition: number
  offset: number
  tag: string
  seq: number
}
const acks = (w: Worker): Ack[] =>
  w.lines
    .filter((l) => l.startsWith('ack '))
    .map((l) => {
      const [, partition, offset, tag, seq] = l.split(' ')
      return { partition: Number(partition), offset: Number(offset), tag: tag!, seq: Number(seq) }
    })

describe('embedded log across processes', () => {
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL')
      await w.exited
    }
    vi.restoreAllMocks()
  })

  it('interleaves appends from two processes with no lost record and dense offsets', async () => {
    const dir = tempDir()
    const gate = path.join(dir, 'go')
    const a = start(['append', dir, 'shared', '3', '200', 'A'], { TRIB_TEST_GATE: gate })
    const b = start(['append', dir, 'shared', '3', '200', 'B'], { TRIB_TEST_GATE: gate })
    await Promise.all([a.waitFor((l) => l === 'ready'), b.waitFor((l) => l === 'ready')])
    fs.writeFileSync(gate, '')
    const [ea, eb] = await Promise.all([a.exited, b.exited])
    expect([ea.code, eb.code], a.stderr() + b.stderr()).toEqual([0, 0])

    const log = await openEmbeddedLog({ dir })
    const records = await readAll(log, 'shared')
    await log.close()
    const acked = [...acks(a), ...acks(b)]
    expect(records).toHaveLength(acked.length)
    for (let p = 0; p < 3; p++) {
      const offsets = records.filter((r) => r.partition === p).map((r) => r.offset)
      expect(offsets).toEqual(offsets.map((_, i) => i))
    }
    const byPosition = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]))
    for (const ack of acked) {
      const r = byPosition.get(`${ack.partition}:${ack.offset}`)!
      expect(r.value?.equals(valueFor(ack.tag, ack.seq))).toBe(true)
      expect(r.key?.equals(keyFor(ack.seq))).toBe(true)
    }
    // Both writers really interleaved, and each one's records stay in its own order per partition.
    const writers = records.filter((r) => r.partition === 0).map((r) => r.value!.toString()[0])
    expect(writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length).toBeGreaterThan(10)
    for (const tag of ['A', 'B']) {
      for (let p = 0; p < 3; p++) {
        const seqs = records.filter((r) => r.partition === p && r.value!.toString().startsWith(`${tag}:`)).map((r) => Number(r.value!.toString().split(':')[1]))
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      }
    }
  })

  it('wakes a consumer for records appended by another process', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir })
    await log.ensureTopic('remote', { partitions: 3 })
    const consumer = log.consumer({ group: 'watch', topics: ['remote'] })
    expect(await consumer.poll({ maxWaitMs: 0 })).toEqual([])
    const w = start(['append', dir, 'remote', '3', '3', 'R'])
    const got = await consumer.poll({ maxWaitMs: 20_000 })
    expect(got.length).toBeGreaterThan(0)
    expect(got[0]!.value!.toString()).toMatch(/^R:/)
    await w.exited
    await consumer.close()
    await log.close()
  })

  it('breaks the writer lock of a dead process, recovers its torn write, and times out on a live one', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir, lockTimeoutMs: 300 })
    await log.append([{ topic: 't', key: null, value: Buffer.from('one') }])
    const [seg] = segmentFiles(dir, 't', 0)
    const committed = fs.statSync(seg!).size
    const lockFile = path.join(dir, 'writer.lock')

    // A writer that died mid-append: its lock is left behind and its bytes were never journaled.
    fs.writeFileSync(lockFile, String(deadPid()))
    fs.writeFileSync(`${lockFile}.break`, String(deadPid())) // and a breaker that died too
    fs.appendFileSync(seg!, Buffer.alloc(100, 0xee))
    const warn = vi.spyOn(moduleLog, 'warn')
    const [pos] = await log.append([{ topic: 't', key: null, value: Buffer.from('two') }])
    expect(pos!.offset).toBe(1)
    expect(warn).toHaveBeenCalledWith({ dir, pid: expect.any(Number), host: expect.any(String) }, 'a writer died holding the lock: repairing its unacknowledged append')
    expect(warn).toHaveBeenCalledWith({ file: seg, bytes: 100 }, 'unacknowledged append of a dead writer cut')
    expect(fs.existsSync(lockFile)).toBe(false)
    expect((await readAll(log, 't')).map((r) => r.value?.toString())).toEqual(['one', 'two'])
    expect(fs.statSync(seg!).size).toBeGreaterThan(committed)

    // A live holder (this very process) is waited for, then reported.
    fs.writeFileSync(lockFile, String(process.pid))
    const e = await log.append([{ topic: 't', key: null, value: null }]).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(TributaryError)
    expect((e as TributaryError).code).toBe('TRIB_LOG_LOCKED')
    expect((e as TributaryError).message).toContain(lockFile)
    fs.unlinkSync(lockFile)
    expect((await log.append([{ topic: 't', key: null, value: null }]))[0]!.offset).toBe(2)
    await log.close()
  })

  it('keeps a group to one member across processes and frees it when the member dies', async () => {
    const dir = tempDir()
    const holder = start(['hold', dir, 'shared-group'])
    await holder.waitFor((l) => l === 'ready')
    const log = await openEmbeddedLog({ dir })
    const busy = (() => {
      try {
        log.consumer({ group: 'shared-group', topics: ['held'] })
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect((busy as TributaryError).code).toBe('TRIB_LOG_GROUP_BUSY')
    expect((busy as TributaryError).details.pid).toBe(holder.child.pid)
    holder.child.kill('SIGKILL')
    await holder.exited
    const consumer = log.consumer({ group: 'shared-group', topics: ['held'] })
    await consumer.close()
    await log.close()
  })
})

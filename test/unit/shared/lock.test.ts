import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { acquireLock, LockOwner, readHolder, releaseLock, tryLock } from '../../../connectors/shared/lock.ts'
import { tempDir } from '../embedded-log/fixtures/tmp.ts'


const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!
const startOf = (pid: number): string => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!
}
describe('the shared cross-process lock', () => {
  it('is exclusive between owners, and free again once released', () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const a = new LockOwner(dir)
    const b = new LockOwner(dir)
    expect(tryLock(lock, a)).toEqual({ ok: true, broke: undefined })
    const busy = tryLock(lock, b)
    expect(busy).toMatchObject({ ok: false, holder: { pid: process.pid, host: os.hostname() } })
    expect(a.holds(lock)).toBe(true)
    releaseLock(lock, a)
    expect(tryLock(lock, b).ok).toBe(true)
    expect(b.holds(lock) && !a.holds(lock)).toBe(true)
  })

  it('breaks the lock of a dead process and says whose it was; never a live one', () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const me = new LockOwner(dir)
    const dead = deadPid()
    fs.writeFileSync(lock, `${dead} ${os.hostname()} - n1`)
    const taken = tryLock(lock, me)
    expect(taken).toMatchObject({ ok: true, broke: { pid: dead, nonce: 'n1' } })
    expect(me.holds(lock)).toBe(true)

    fs.unlinkSync(lock)
    fs.writeFileSync(lock, `${process.pid} ${os.hostname()} ${startOf(process.pid)} live`)
    expect(tryLock(lock, me)).toMatchObject({ ok: false, holder: { pid: process.pid } })
  })

  it('clears a dead breaker’s leftover within one attempt: a member that tries once is not refused by a corpse', () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    fs.writeFileSync(lock, `${deadPid()} ${os.hostname()} - holder`)
    fs.writeFileSync(`${lock}.break`, `${deadPid()} ${os.hostname()} - breaker`) // killed while breaking
    expect(tryLock(lock, new LockOwner(dir))).toMatchObject({ ok: true, broke: { nonce: 'holder' } })
    expect(fs.existsSync(`${lock}.break`)).toBe(false)
  })

  it('treats a pid reused by another process (a restarted container) as dead', () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    // Our own pid, but a process started at another time: the lock's holder is gone.
    fs.writeFileSync(lock, `${process.pid} ${os.hostname()} 1 earlier-incarnation`)
    expect(tryLock(lock, new LockOwner(dir))).toMatchObject({ ok: true, broke: { pid: process.pid, nonce: 'earlier-incarnation' } })
  })

  it('waits for another host’s lock, unless it is held longer than maxHoldMs', async () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const me = new LockOwner(dir)
    fs.writeFileSync(lock, `4242 elsewhere.example - remote`)
    expect(tryLock(lock, me).ok).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(tryLock(lock, me).ok).toBe(false) // no maxHoldMs: a member lock may be held for hours
    expect(tryLock(lock, me, { maxHoldMs: 50 })).toMatchObject({ ok: true, broke: { host: 'elsewhere.example' } })
    // Released with maxHoldMs, a lock that is no longer ours is left alone.
    fs.unlinkSync(lock)
    fs.writeFileSync(lock, `4242 elsewhere.example - someone-else`)
    releaseLock(lock, me, { maxHoldMs: 50 })
    expect(readHolder(lock)?.nonce).toBe('someone-else')
  })

  it('times out with the adapter’s own error, naming the holder', async () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const a = new LockOwner(dir)
    tryLock(lock, a)
    const started = Date.now()
    const e = await acquireLock(lock, new LockOwner(dir), { timeoutMs: 100, timeoutError: (h) => new Error(`held by ${h?.pid}`) }).catch((err: unknown) => err)
    expect((e as Error).message).toBe(`held by ${process.pid}`)
    expect(Date.now() - started).toBeGreaterThanOrEqual(100)
  })

})

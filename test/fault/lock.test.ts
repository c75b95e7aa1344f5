import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { acquireLock, LockOwner, readHolder, restoreBrokenLock, tryLock } from '../../connectors/shared/lock.ts'
import { tempDir } from '../unit/embedded-log/fixtures/tmp.ts'

/** The shared lock across processes: a SIGKILLed holder, and two processes contending. */
const fixture = fileURLToPath(new URL('./fixtures/locker.ts', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))

const child = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
const line = (c: ReturnType<typeof child>, want: string): Promise<void> =>
  new Promise((resolve, reject) => {
    c.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes(want) && resolve())
    c.on('exit', (code) => reject(new Error(`child exited ${code} before ${want}`)))
  })

describe('the shared lock across processes', () => {
  it('frees the lock of a SIGKILLed holder for the next process, which learns who died', async () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const holder = child(['hold', dir, lock])
    await line(holder, 'locked')
    const me = new LockOwner(dir)
    expect(tryLock(lock, me)).toMatchObject({ ok: false, holder: { pid: holder.pid } })
    holder.kill('SIGKILL')
    await new Promise((resolve) => holder.on('exit', resolve))
    const { broke } = await acquireLock(lock, me, { timeoutMs: 5_000, timeoutError: () => new Error('timeout') })
    expect(broke?.pid).toBe(holder.pid)
    // Put back as found when the dead holder's work cannot be finished: the next taker sees it too.
    restoreBrokenLock(lock, me, broke!)
    expect(readHolder(lock)?.pid).toBe(holder.pid)
    expect((await acquireLock(lock, me, { timeoutMs: 5_000, timeoutError: () => new Error('timeout') })).broke?.pid).toBe(holder.pid)
    LockOwner.sweep(dir)
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.owner.')).length).toBe(1) // only mine: the killed holder's identity is swept
  })

  it('serializes two processes: no update lost under contention', { timeout: 60_000 }, async () => {
    const dir = tempDir()
    const lock = path.join(dir, 'x.lock')
    const counter = path.join(dir, 'counter')
    fs.writeFileSync(counter, '0')
    const workers = [child(['count', dir, lock, counter, '150']), child(['count', dir, lock, counter, '150'])]
    await Promise.all(workers.map((w) => line(w, 'done')))
    expect(Number(fs.readFileSync(counter, 'utf8'))).toBe(300)
  })
})

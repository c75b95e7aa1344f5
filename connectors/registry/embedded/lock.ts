import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { TributaryError, messageOf } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'

/**
 * A cross-process lock: a file created with O_EXCL holding the owner's pid, host and a token.
 * Whoever creates it holds the lock; release removes it. A lock is stale when its owner is a dead
 * process on this host, or when it is older than `staleMs` (a registry operation holds it for
 * milliseconds, and a pid on another host cannot be checked). Breaking a stale lock renames it
 * first, so two processes cannot both break it and then remove each other's fresh lock.
 */

export interface LockOptions {
  /** Give up after this long (TRIB_REGISTRY_UNAVAILABLE). */
  timeoutMs?: number
  staleMs?: number
}

interface LockContent {
  pid: number
  host: string
  token: string
  at: number
}

const log = moduleLogger('registry')

export async function acquireLock(file: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const staleMs = options.staleMs ?? 30_000
  const mine: LockContent = { pid: process.pid, host: os.hostname(), token: randomUUID(), at: Date.now() }
  const deadline = Date.now() + timeoutMs
  let wait = 1
  for (;;) {
    try {
      await fs.writeFile(file, JSON.stringify(mine), { flag: 'wx' })
      return () => release(file, mine.token)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = await readLock(file)
    if (holder ? isStale(holder, staleMs) : await isOldUnreadable(file, staleMs)) {
      await breakLock(file, holder)
      continue
    }
    if (Date.now() >= deadline) {
      const who = holder ? `pid ${holder.pid} on ${holder.host}` : 'another process'
      throw new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `${file}: lock held by ${who} for more than ${timeoutMs} ms`, {
        details: { file, holder },
      })
    }
    await sleep(wait + Math.random() * wait)
    wait = Math.min(wait * 2, 25)
  }
}

async function readLock(file: string): Promise<LockContent | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as LockContent
    return typeof parsed.pid === 'number' ? parsed : undefined
  } catch {
    // Vanished, or its owner is between create and write: not stale, just busy.
    return undefined
  }
}

function isStale(holder: LockContent, staleMs: number): boolean {
  if (Date.now() - holder.at > staleMs) return true
  if (holder.host !== os.hostname()) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (e) {
    // EPERM: alive, owned by another user.
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

// An owner that died between creating the file and writing it leaves it empty.
async function isOldUnreadable(file: string, staleMs: number): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs > staleMs
  } catch {
    return false
  }
}

async function breakLock(file: string, holder: LockContent | undefined): Promise<void> {
  const aside = `${file}.${randomUUID()}.stale`
  try {
    await fs.rename(file, aside)
  } catch {
    return // someone else broke or released it
  }
  const moved = await readLock(aside)
  if (moved?.token !== holder?.token) {
    // We moved a fresh lock taken since we looked: put it back unless yet another lock exists.
    await fs.link(aside, file).catch(() => undefined)
  } else {
    log.warn({ file, pid: holder?.pid, host: holder?.host }, 'broke a stale registry lock')
  }
  await fs.unlink(aside).catch(() => undefined)
}

async function release(file: string, token: string): Promise<void> {
  const holder = await readLock(file)
  if (holder?.token !== token) {
    log.warn({ file }, 'registry lock was taken over before release')
    return
  }
  try {
    await fs.unlink(file)
  } catch (e) {
    log.warn({ file, err: messageOf(e) }, 'could not remove the registry lock')
  }
}

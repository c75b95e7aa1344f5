import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { moduleLogger } from '../../runtime/logger.ts'
import { isErrno, unlinkQuiet } from './fs.ts'

/**
 * Cross-process lock files: one mechanism and one staleness rule for every adapter (the embedded
 * log's writer and group-member locks, the embedded registry's lock).
 *
 * A lock is a hard link (link(2)) of its owner's identity file to the lock's name: as exclusive as
 * O_EXCL, and the holder's identity is in place the instant the lock exists, so a contender never
 * reads an empty lock. The identity is `<pid> <host> <start> <nonce>`, where `start` is the
 * process's start time (Linux /proc; '-' elsewhere) so a pid reused by another process, or by a
 * restarted container whose process has the same pid, is not mistaken for the holder.
 *
 * A lock is stale when its holder ran on this host and that process is gone, or (only for locks
 * given `maxHoldMs`, which are held briefly) when its holder runs on another host and the lock is
 * older than that. A stale lock is broken under `<lock>.break` (a lock taken the same way): the
 * breaker re-reads the holder and renames a fresh link of its own identity over the lock, so the
 * lock's name never disappears and no third process slips in.
 */

const log = moduleLogger('lock')
const HOST = os.hostname().replace(/\s/g, '_') || 'localhost'

export interface Holder {
  /** The lock file's content, as read. */
  raw: string
  pid: number
  host: string
  /** Process start time, as the holder's host reports it; undefined when unknown. */
  start: string | undefined
  nonce: string
}

/** The identity of one owner of locks (an adapter instance), kept in a file beside its locks. */
export class LockOwner {
  readonly file: string
  readonly identity: string
  private readonly ino: number

  constructor(dir: string) {
    const nonce = randomBytes(6).toString('hex')
    this.identity = `${process.pid} ${HOST} ${processStart(process.pid) ?? '-'} ${nonce}`
    this.file = path.join(dir, `.owner.${process.pid}.${nonce}`)
    fs.writeFileSync(this.file, this.identity, { flag: 'wx' })
    this.ino = fs.statSync(this.file).ino
  }

  /** True when `lockFile` is (still) a link of this owner's identity file. */
  holds(lockFile: string): boolean {
    try {
      return fs.statSync(lockFile).ino === this.ino
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false
      throw e
    }
  }

  dispose(): void {
    unlinkQuiet(this.file)
  }

  /** Removes identity files of owners that died without disposing them (`.token.*`: earlier releases'). */
  static sweep(dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      if (!name.startsWith('.owner.') && !name.startsWith('.token.')) continue
      const file = path.join(dir, name)
      const holder = readHolder(file)
      if (holder !== undefined && isGone(holder)) unlinkQuiet(file)
    }
  }
}

export function parseHolder(text: string): Holder | undefined {
  // Earlier releases wrote a bare pid (the log) or JSON (the registry): still understood.
  if (/^\d+$/.test(text.trim())) return { raw: text, pid: Number(text), host: HOST, start: undefined, nonce: text.trim() }
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { pid?: unknown; host?: unknown; token?: unknown }
      if (typeof j.pid === 'number' && typeof j.host === 'string') return { raw: text, pid: j.pid, host: j.host, start: undefined, nonce: String(j.token) }
    } catch {
      return undefined
    }
  }
  const [pid, host, start, nonce] = text.trim().split(' ')
  const n = Number(pid)
  if (!Number.isInteger(n) || n <= 0 || host === undefined || start === undefined || nonce === undefined) return undefined
  return { raw: text, pid: n, host, start: start === '-' ? undefined : start, nonce }
}

/** The holder recorded in a lock file; undefined when the file is gone or not a lock of this kind. */
export function readHolder(file: string): Holder | undefined {
  try {
    return parseHolder(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

export const describeHolder = (h: Holder | undefined): string => (h === undefined ? 'an unknown holder' : `pid ${h.pid} on ${h.host}`)

/** Whether the holder's process has ended (only decidable on this host). */
export function isGone(holder: Holder): boolean {
  if (holder.host !== HOST) return false
  if (!pidAlive(holder.pid)) return true
  const start = processStart(holder.pid)
  return holder.start !== undefined && start !== undefined && start !== holder.start
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return !isErrno(e, 'ESRCH') // EPERM: alive, another user's
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), Linux only. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

export interface LockRules {
  /** Another host's lock older than this is stale; omit for locks held for a process's lifetime. */
  maxHoldMs?: number
}

function isStale(file: string, holder: Holder, rules: LockRules): boolean {
  if (holder.host === HOST) return isGone(holder)
  if (rules.maxHoldMs === undefined) return false
  try {
    // link(2) and rename(2) set the inode's change time: when the lock was taken.
    return Date.now() - fs.statSync(file).ctimeMs > rules.maxHoldMs
  } catch {
    return false
  }
}

export type TryLock = { ok: true; broke: Holder | undefined } | { ok: false; holder: Holder | undefined }

/**
 * One attempt at the lock. `broke` names the dead holder whose stale lock was taken over. Whatever
 * a dead process left in the way (its lock, or its half-done break of another's) is cleared within
 * the attempt, so a caller that tries only once (a group member) is not refused by a corpse.
 */
export function tryLock(lockFile: string, owner: LockOwner, rules: LockRules = {}): TryLock {
  for (let round = 0; ; round++) {
    try {
      fs.linkSync(owner.file, lockFile)
      return { ok: true, broke: undefined }
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e
    }
    const holder = readHolder(lockFile)
    if (holder === undefined && round < 2 && !fs.existsSync(lockFile)) continue // released meanwhile
    if (holder === undefined || !isStale(lockFile, holder, rules)) return { ok: false, holder }
    const breakFile = `${lockFile}.break`
    try {
      fs.linkSync(owner.file, breakFile)
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e
      const breaker = readHolder(breakFile)
      if (breaker === undefined || !isGone(breaker) || round >= 2) return { ok: false, holder }
      unlinkQuiet(breakFile) // a breaker that died half way
      continue
    }
    try {
      if (readHolder(lockFile)?.nonce !== holder.nonce) return { ok: false, holder }
      const take = `${owner.file}.take`
      unlinkQuiet(take)
      fs.linkSync(owner.file, take)
      fs.renameSync(take, lockFile)
      log.warn({ file: lockFile, pid: holder.pid, host: holder.host }, 'broke the stale lock of a process that is gone')
      return { ok: true, broke: holder }
    } finally {
      unlinkQuiet(breakFile)
    }
  }
}

export interface AcquireOptions extends LockRules {
  timeoutMs: number
  /** The error to throw when the lock stays held for timeoutMs (each adapter has its own code). */
  timeoutError: (holder: Holder | undefined) => Error
}

/**
 * Takes the lock, waiting with jittered backoff (1 ms doubling to 20 ms) while it is held. Resolves
 * the dead holder whose lock was broken, if any: that holder may have left its work half done.
 */
export async function acquireLock(lockFile: string, owner: LockOwner, options: AcquireOptions): Promise<{ broke: Holder | undefined }> {
  const started = Date.now()
  let delay = 1
  for (;;) {
    const attempt = tryLock(lockFile, owner, options)
    if (attempt.ok) return { broke: attempt.broke }
    if (Date.now() - started >= options.timeoutMs) throw options.timeoutError(attempt.holder)
    await sleep(delay * (0.5 + Math.random()))
    delay = Math.min(delay * 2, 20)
  }
}

/**
 * Puts back the lock of a dead holder this owner broke, when the work that holder left could not be
 * finished (damage found while repairing): the next taker still sees that a holder died.
 */
export function restoreBrokenLock(lockFile: string, owner: LockOwner, broke: Holder): void {
  const aside = `${owner.file}.restore`
  fs.writeFileSync(aside, broke.raw)
  fs.renameSync(aside, lockFile)
}

/**
 * Releases a lock this owner holds. With `maxHoldMs` another host may have broken it meanwhile, so
 * it is checked first and a lock that is no longer ours is left alone.
 */
export function releaseLock(lockFile: string, owner: LockOwner, rules: LockRules = {}): void {
  if (rules.maxHoldMs !== undefined && !owner.holds(lockFile)) {
    log.warn({ file: lockFile }, 'lock was taken over before release')
    return
  }
  unlinkQuiet(lockFile)
}

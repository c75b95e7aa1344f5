import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'
import { isErrno } from './files.ts'
import { log } from './logger.ts'

/**
 * Lock files that hold the owner's pid. Acquiring is link(2) of a per-instance token file (which
 * already contains the pid) to the lock name: as exclusive as `open(wx)`, but the pid is in place
 * the instant the lock exists, so a contender never reads an empty lock and cannot tell whose it is.
 * A lock whose pid is dead (kill(pid, 0) -> ESRCH) is stale and is taken over.
 */
export class LockToken {
  readonly file: string

  constructor(dir: string) {
    this.file = path.join(dir, `.token.${process.pid}.${randomBytes(4).toString('hex')}`)
    fs.writeFileSync(this.file, String(process.pid), { flag: 'wx' })
  }

  dispose(): void {
    unlinkQuiet(this.file)
  }

  /** Removes tokens left by processes that died without closing their log. */
  static sweep(dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      const m = /^\.token\.(\d+)\./.exec(name)
      if (m !== null && !pidAlive(Number(m[1]))) unlinkQuiet(path.join(dir, name))
    }
  }
}

export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return !isErrno(e, 'ESRCH')
  }
}

export function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file)
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'))
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

export type TryLock = { ok: true; brokeStale: boolean } | { ok: false; holder: number | undefined }

/**
 * One attempt at an exclusive pid lock. A stale holder is broken under a second `<lock>.break`
 * lock, so two processes never both decide to break the same lock: the breaker re-reads the pid
 * while holding `.break` and then renames its own pid file over the lock (the lock name never
 * disappears, so nobody else can slip in between).
 */
export function tryLock(lockFile: string, token: LockToken): TryLock {
  try {
    fs.linkSync(token.file, lockFile)
    return { ok: true, brokeStale: false }
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e
  }
  const holder = readPid(lockFile)
  if (holder === undefined || pidAlive(holder)) return { ok: false, holder }
  const breakFile = `${lockFile}.break`
  try {
    fs.linkSync(token.file, breakFile)
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e
    const breaker = readPid(breakFile)
    if (breaker !== undefined && !pidAlive(breaker)) unlinkQuiet(breakFile)
    return { ok: false, holder }
  }
  try {
    if (readPid(lockFile) !== holder) return { ok: false, holder }
    const take = `${token.file}.take`
    unlinkQuiet(take)
    fs.linkSync(token.file, take)
    fs.renameSync(take, lockFile)
    log.warn({ file: lockFile, pid: holder }, 'broke stale lock of a dead process')
    return { ok: true, brokeStale: true }
  } finally {
    unlinkQuiet(breakFile)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The cross-process writer lock, held for one append only, so any number of processes can append
 * in turn. Contention backs off from 1 ms up to 20 ms with jitter.
 */
export class WriterLock {
  constructor(
    private readonly file: string,
    private readonly token: LockToken,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves true when it took over a dead writer's lock: the caller must then run recovery. */
  async acquire(): Promise<boolean> {
    const started = Date.now()
    let delay = 1
    for (;;) {
      const attempt = tryLock(this.file, this.token)
      if (attempt.ok) return attempt.brokeStale
      if (Date.now() - started >= this.timeoutMs) {
        throw new TributaryError(
          'TRIB_LOG_LOCKED',
          `${this.file} is held by pid ${attempt.holder ?? 'unknown'} for more than ${this.timeoutMs} ms`,
          { details: { file: this.file, pid: attempt.holder } },
        )
      }
      await sleep(delay * (0.5 + Math.random()))
      delay = Math.min(delay * 2, 20)
    }
  }

  release(): void {
    unlinkQuiet(this.file)
  }
}

/** Serializes async critical sections within one process (products share one Log instance). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.catch(() => undefined)
    return result
  }
}

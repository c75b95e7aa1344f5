import fs from 'node:fs'
import { messageOf } from '../../runtime/errors.ts'

/** Small synchronous file helpers the adapters' durable files (segments, journals, locks) share. */

export const isErrno = (e: unknown, code: string): boolean =>
  typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code

/** Writes all of buf at position (regular files rarely short-write, but the loop costs nothing). */
export function writeAllSync(fd: number, buf: Uint8Array, position: number): void {
  let done = 0
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done)
}

/** Reads up to length bytes at position; shorter only at end of file. */
export function readSync(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done === length ? buf : buf.subarray(0, done)
}

/** fsync of a directory, so a created or renamed entry survives power loss. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

export function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file)
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e
  }
}

/** The file's content, or undefined when it does not exist. */
export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

/**
 * A failed write whose partial bytes could not be taken back either. Whoever holds the lock over
 * the file keeps it, so the next writer finds a dead writer's torn append rather than damage.
 */
export class UndoFailed extends Error {
  constructor(
    readonly file: string,
    readonly failure: unknown,
    readonly undo: unknown,
  ) {
    super(`${file}: a write failed (${messageOf(failure)}) and could not be taken back (${messageOf(undo)})`, { cause: failure })
    this.name = 'UndoFailed'
  }
}

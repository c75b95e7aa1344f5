import fs from 'node:fs'
import path from 'node:path'
import { isErrno } from '../shared/fs.ts'

export function readdirOrEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return []
    throw e
  }
}

function readOnce(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))
  })
}

export const ensureDir = (dir: string): void => void fs.mkdirSync(dir, { recursive: true })
export const join = path.join

interface CachedFd {
  fd: number
  refs: number
}

/**
 * Read-only descriptors of segment files, shared by every reader of one log. Descriptors are
 * reference counted so one is never closed (and its number reused) under an in-flight read; idle
 * ones beyond `limit` are closed oldest first.
 */
export class ReadFiles {
  private readonly open = new Map<string, CachedFd>()
  private closed = false

  constructor(private readonly limit = 128) {}

  /** Reads [position, position+length) of a file; shorter only at end of file. */
  async read(file: string, position: number, length: number): Promise<Buffer> {
    const entry = this.acquire(file)
    try {
      const buf = Buffer.allocUnsafe(length)
      let done = 0
      while (done < length) {
        const n = await readOnce(entry.fd, buf, done, length - done, position + done)
        if (n === 0) break
        done += n
      }
      return done === length ? buf : buf.subarray(0, done)
    } finally {
      this.release(file, entry)
    }
  }

  private acquire(file: string): CachedFd {
    let entry = this.open.get(file)
    if (entry === undefined) {
      entry = { fd: fs.openSync(file, 'r'), refs: 0 }
    } else {
      this.open.delete(file) // re-inserted below: Map order doubles as LRU order
    }
    this.open.set(file, entry)
    entry.refs++
    return entry
  }

  private release(file: string, entry: CachedFd): void {
    entry.refs--
    if (this.closed || this.open.get(file) !== entry) {
      if (entry.refs === 0) fs.closeSync(entry.fd)
      return
    }
    if (this.open.size <= this.limit) return
    for (const [name, e] of this.open) {
      if (this.open.size <= this.limit) break
      if (e.refs > 0) continue
      this.open.delete(name)
      fs.closeSync(e.fd)
    }
  }

  /** Drops a file's descriptor (it was deleted or replaced); an in-flight read finishes first. */
  forget(file: string): void {
    const entry = this.open.get(file)
    if (entry === undefined) return
    this.open.delete(file)
    if (entry.refs === 0) fs.closeSync(entry.fd)
  }

  close(): void {
    this.closed = true
    for (const [name, e] of this.open) {
      this.open.delete(name)
      if (e.refs === 0) fs.closeSync(e.fd)
    }
  }
}

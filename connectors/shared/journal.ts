import fs from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { crc32 } from 'node:zlib'
import { UndoFailed, writeAllSync } from './fs.ts'

/**
 * A checksummed journal file: append-only lines `<crc32 of the JSON, 8 hex digits> <JSON>\n`, one
 * line per committed change. It is the one journal format and rule set of the adapters (the
 * embedded log's commit journal, the embedded registry's file):
 *
 * - A line ending in '\n' was written whole. If its checksum or its JSON fails, the file is
 *   damaged: `corrupt` is thrown, naming the file, line and byte range, and nothing is changed.
 * - Bytes after the last '\n' are an unterminated line: a write in progress in another process, or
 *   the torn append of a writer that died. They are never parsed. Readers leave them; only a
 *   writer that knows they are torn (it took over a dead writer's lock) cuts them (`cutTail`).
 *
 * One instance reads one file forward: `read` delivers what was appended since the last call. It
 * is not safe for concurrent calls; its owner serializes them.
 */

export interface Where {
  file: string
  /** Byte position of the line (or of the damage). */
  position: number
  /** End of the damaged range (exclusive). */
  end: number
  /** 1-based line number. */
  line: number
}

/** Builds the adapter's own error (TRIB_LOG_CORRUPT, TRIB_REGISTRY_CORRUPT…) for damage at `where`. */
export type CorruptError = (reason: string, where: Where) => Error

const NEWLINE = 0x0a
const CRC_HEX = 8

const HEX = Buffer.from('0123456789abcdef')

export function encodeLine(value: unknown): Buffer {
  const text = JSON.stringify(value)
  const length = Buffer.byteLength(text)
  const line = Buffer.allocUnsafe(CRC_HEX + 1 + length + 1)
  line.write(text, CRC_HEX + 1)
  const crc = crc32(line.subarray(CRC_HEX + 1, CRC_HEX + 1 + length))
  for (let i = 0; i < CRC_HEX; i++) line[i] = HEX[(crc >>> ((CRC_HEX - 1 - i) * 4)) & 15]!
  line[CRC_HEX] = 0x20
  line[line.length - 1] = NEWLINE
  return line
}

/** The value of one complete line (without its '\n'), or the reason it is damaged. */
export function decodeLine(buf: Buffer, start: number, end: number): { value: unknown } | { damage: string } {
  if (end - start < CRC_HEX + 2 || buf[start + CRC_HEX] !== 0x20) return { damage: 'not a journal line' }
  const expected = buf.toString('latin1', start, start + CRC_HEX)
  const actual = crc32(buf.subarray(start + CRC_HEX + 1, end)).toString(16).padStart(CRC_HEX, '0')
  if (expected !== actual) return { damage: 'checksum mismatch' }
  try {
    return { value: JSON.parse(buf.toString('utf8', start + CRC_HEX + 1, end)) as unknown }
  } catch {
    return { damage: 'checksum matches but the JSON does not parse' }
  }
}

/**
 * Calls onLine for each complete line of buf[0, length) (file bytes from `at.position`, whose
 * first line is number `at.line`) until it returns false. Returns the bytes and lines consumed.
 */
export function parseLines(
  buf: Buffer,
  length: number,
  at: { file: string; position: number; line: number },
  corrupt: CorruptError,
  onLine: (value: unknown, where: Where) => boolean | void,
): { bytes: number; lines: number } {
  let start = 0
  let lines = 0
  while (start < length) {
    const end = buf.indexOf(NEWLINE, start)
    if (end < 0 || end >= length) break
    const where: Where = { file: at.file, position: at.position + start, end: at.position + end + 1, line: at.line + lines }
    const decoded = decodeLine(buf, start, end)
    if ('damage' in decoded) throw corrupt(decoded.damage, where)
    start = end + 1
    lines++
    if (onLine(decoded.value, where) === false) break
  }
  return { bytes: start, lines }
}

/** One journal file, read forward from its start and appended at its end (by the lock holder). */
export class JournalFile {
  /** End of the last complete line read (or appended). */
  position = 0
  /** Complete lines read (or appended) so far. */
  lines = 0
  /** Bytes after the last complete line, as the last `read` found them. */
  unterminated = 0
  private buf = Buffer.allocUnsafe(64 * 1024)

  private constructor(
    readonly file: string,
    private fd: number,
    private readonly corrupt: CorruptError,
  ) {}

  /** Opens an existing file: 'read' never changes it; 'write' may append and cut a torn tail. */
  static open(file: string, mode: 'read' | 'write', corrupt: CorruptError): JournalFile {
    return new JournalFile(file, fs.openSync(file, mode === 'write' ? 'r+' : 'r'), corrupt)
  }

  /** Delivers lines appended since the last call (see parseLines); stops before an unterminated tail. */
  read(onLine: (value: unknown, where: Where) => boolean | void): number {
    let delivered = 0
    for (;;) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.position)
      this.unterminated = n
      if (n === 0) return delivered // the common case (nothing new): no allocation
      let stopped = false
      const at = { file: this.file, position: this.position, line: this.lines + 1 }
      const r = parseLines(this.buf, n, at, this.corrupt, (value, where) => {
        const more = onLine(value, where)
        if (more === false) stopped = true
        return more
      })
      this.position += r.bytes
      this.lines += r.lines
      this.unterminated = n - r.bytes
      delivered += r.lines
      if (stopped) {
        this.unterminated = this.size() - this.position
        return delivered
      }
      if (n < this.buf.length) return delivered
      // A line longer than the buffer: grow, but only while the file really holds that much.
      if (r.bytes === 0) {
        if (this.size() <= this.position + this.buf.length) return delivered // unterminated, exactly a buffer long
        this.buf = Buffer.allocUnsafe(this.buf.length * 2)
      }
    }
  }

  size(): number {
    return fs.fstatSync(this.fd).size
  }

  /** The file is shorter than what was already read from it: someone cut committed lines. */
  shrank(): boolean {
    return this.size() < this.position
  }

  /** Writer only, for a tail it knows to be torn: cuts the file after the last complete line. */
  cutTail(): number {
    const cut = this.size() - this.position
    if (cut > 0) fs.ftruncateSync(this.fd, this.position)
    this.unterminated = 0
    return cut
  }

  /**
   * Appends values as lines at the end of what was read (the caller holds the lock and has read
   * everything). A failed write is undone before it is reported, so no torn line stays behind a
   * live writer; if even that fails, the error says so (the next writer finds a damaged tail).
   */
  append(values: readonly unknown[], fsync: boolean): void {
    const buf = values.length === 1 ? encodeLine(values[0]) : Buffer.concat(values.map(encodeLine))
    try {
      writeAllSync(this.fd, buf, this.position)
      if (fsync) fs.fdatasyncSync(this.fd)
    } catch (e) {
      try {
        fs.ftruncateSync(this.fd, this.position)
      } catch (undo) {
        throw new UndoFailed(this.file, e, undo)
      }
      throw e
    }
    this.position += buf.length
    this.lines += values.length
    this.unterminated = 0
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd)
    this.fd = -1
  }
}

/**
 * For a reader, which cannot tell a write in progress from damage by the file alone: resolves the
 * unterminated tail's byte range when it stays while nobody holds `lockFile` (the file was cut or
 * damaged), undefined when there is none or a writer may be at work (a live one mid-append, or a
 * dead one whose torn line the next writer cuts).
 */
export async function abandonedTail(
  tail: () => { from: number; to: number } | undefined,
  reread: () => void,
  lockFile: string,
): Promise<{ from: number; to: number } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const t = tail()
    if (t === undefined || fs.existsSync(lockFile)) return undefined
    if (attempt === 3) return t
    await sleep(20)
    reread()
  }
}

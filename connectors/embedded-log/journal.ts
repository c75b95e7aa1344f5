import fs from 'node:fs'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { TributaryError } from '../../runtime/errors.ts'
import { fsyncDir, isErrno, readSync, writeAllSync } from './files.ts'
import { unlinkQuiet } from './lock.ts'
import { log } from './logger.ts'
import { JOURNAL_FILE, journalFileName } from './names.ts'
import { malformed, type JournalEntry, type LogState } from './state.ts'

/** Journal frame: u32 payload length | u32 crc32(payload) | compact JSON payload. */
const HEAD = 8
const MAX_RECORD = 64 * 1024 * 1024

export function frameEntry(entry: JournalEntry): Buffer {
  const json = Buffer.from(JSON.stringify(entry))
  const buf = Buffer.allocUnsafe(HEAD + json.length)
  buf.writeUInt32BE(json.length, 0)
  buf.writeUInt32BE(crc32(json), 4)
  json.copy(buf, HEAD)
  return buf
}

type Stop = 'eof' | 'torn' | 'switch'

/**
 * The commit journal: the single source of truth for what is committed. Each record is the
 * linearization point of one append or commit. Any number of processes read it by position;
 * only the holder of the writer lock appends, repairs a torn tail or rotates.
 */
export class Journal {
  private fd = -1
  private seq = 0
  /** End of the last applied record. */
  private pos = 0
  /** Size of the current file's checkpoint: rotation counts only what was appended after it. */
  private checkpointBytes = 0
  private pendingSwitch: number | undefined
  private buf = Buffer.allocUnsafe(64 * 1024)

  constructor(
    private readonly dir: string,
    private readonly state: LogState,
    private readonly options: { rotateBytes: number; fsync: boolean },
  ) {}

  get file(): string {
    return path.join(this.dir, journalFileName(this.seq))
  }

  /**
   * Opens the newest journal file under the writer lock: creates the first one, finishes a
   * rotation a dead writer left half done, truncates a torn last record, removes older files.
   */
  openLocked(hasSegments: boolean): void {
    fs.mkdirSync(this.dir, { recursive: true })
    const seqs: number[] = []
    for (const name of fs.readdirSync(this.dir)) {
      const m = JOURNAL_FILE.exec(name)
      if (m !== null) seqs.push(Number(m[1]))
      else if (name.endsWith('.tmp')) unlinkQuiet(path.join(this.dir, name))
    }
    seqs.sort((a, b) => a - b)
    if (seqs.length === 0) {
      if (hasSegments) {
        throw new TributaryError('TRIB_LOG_CORRUPT', `${this.dir} holds no journal but segment files exist: refusing to treat them as uncommitted`, {
          details: { file: this.dir },
        })
      }
      this.writeCheckpointFile(0)
      seqs.push(0)
    }
    this.seq = seqs[seqs.length - 1]!
    this.fd = fs.openSync(this.file, 'r+')
    this.catchUp(true)
    for (const s of seqs) if (s < this.seq) unlinkQuiet(path.join(this.dir, journalFileName(s)))
  }

  /**
   * Applies what was appended since the last call. Without the lock an invalid tail is left
   * alone (it may be a write in progress); with it, a torn tail is truncated and logged.
   */
  catchUp(locked: boolean): boolean {
    let changed = false
    for (;;) {
      if (this.pendingSwitch !== undefined) {
        if (!this.switchFile(this.pendingSwitch, locked)) return changed
        changed = true
      }
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.pos)
      const { stop, at, need } = this.parse(n)
      if (at > 0) changed = true
      if (stop === 'switch') continue
      // Grow for a large record only once it is all there: a torn length must not allocate.
      if (need > this.buf.length && this.pos + need <= fs.fstatSync(this.fd).size) {
        this.buf = Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(need)))
        continue
      }
      if (stop === 'eof') {
        if (at === n && n < this.buf.length) return changed // clean end of file
        if (at > 0) continue // progress; read on from the next record
      }
      // An invalid or partial record that nothing follows in this read.
      if (!locked) return changed
      this.repairTail()
      return changed
    }
  }

  private parse(n: number): { stop: Stop; at: number; need: number } {
    const buf = this.buf
    let at = 0
    while (at + HEAD <= n) {
      const len = buf.readUInt32BE(at)
      if (len < 2 || len > MAX_RECORD) return { stop: 'torn', at, need: 0 }
      if (at + HEAD + len > n) return { stop: 'eof', at, need: HEAD + len }
      const payload = buf.subarray(at + HEAD, at + HEAD + len)
      if (buf.readUInt32BE(at + 4) !== crc32(payload)) return { stop: 'torn', at, need: 0 }
      const entry = this.decode(payload, this.pos)
      if (this.pos === 0) this.checkpointBytes = HEAD + len
      this.pos += HEAD + len
      at += HEAD + len
      if (entry.r !== undefined) {
        this.pendingSwitch = entry.r
        return { stop: 'switch', at, need: 0 }
      }
    }
    return { stop: 'eof', at, need: 0 }
  }

  private decode(payload: Buffer, position: number): JournalEntry {
    let entry: JournalEntry
    try {
      const parsed: unknown = JSON.parse(payload.toString('utf8'))
      const reason = malformed(parsed)
      if (reason !== undefined) throw new Error(reason)
      entry = parsed as JournalEntry
      if (position === 0 && entry.c !== 1) throw new Error('first record is not a checkpoint')
      this.state.apply(entry)
    } catch (e) {
      // The checksum matched, so this is not a torn write: the journal itself is wrong.
      throw this.corrupt(position, `journal record is invalid (${(e as Error).message})`, e)
    }
    return entry
  }

  private corrupt(position: number, reason: string, cause?: unknown): TributaryError {
    return new TributaryError('TRIB_LOG_CORRUPT', `${this.file}: ${reason} at byte ${position}`, {
      cause,
      details: { file: this.file, position },
    })
  }

  /**
   * Under the lock an invalid record at the end is a dead writer's torn append: one record cut
   * short, a bad last record, or a zero-filled tail. Anything else means committed records follow
   * a damaged one, which is corruption and never silently dropped.
   */
  private repairTail(): void {
    const size = fs.fstatSync(this.fd).size
    const rest = readSync(this.fd, this.pos, size - this.pos)
    if (this.pos === 0) throw this.corrupt(0, 'not a journal (no valid checkpoint record at the start)')
    const len = rest.length >= HEAD ? rest.readUInt32BE(0) : 0
    const partial = rest.length < HEAD || HEAD + len >= rest.length
    if (!partial && !rest.every((b) => b === 0)) throw this.corrupt(this.pos, 'damaged record followed by more records')
    fs.ftruncateSync(this.fd, this.pos)
    log.warn({ file: this.file, bytes: size - this.pos }, 'torn tail truncated')
  }

  /** Appends one record (under the writer lock, after catchUp) and applies it. */
  commit(entry: JournalEntry): void {
    const buf = frameEntry(entry)
    writeAllSync(this.fd, buf, this.pos)
    if (this.options.fsync) fs.fsyncSync(this.fd)
    this.pos += buf.length
    this.state.apply(entry)
    if (this.pos - this.checkpointBytes >= this.options.rotateBytes) this.rotate()
  }

  /**
   * New file first (as .tmp, full checkpoint), then the marker in the old file, then the rename:
   * a reader that sees the marker waits for the file, and a writer that died in between leaves
   * either a .tmp (removed on open) or a marker whose file the next lock holder creates.
   */
  private rotate(): void {
    const next = this.seq + 1
    const tmp = this.writeCheckpointFile(next, false)
    const marker = frameEntry({ r: next })
    writeAllSync(this.fd, marker, this.pos)
    if (this.options.fsync) fs.fsyncSync(this.fd)
    fs.renameSync(tmp, path.join(this.dir, journalFileName(next)))
    if (this.options.fsync) fsyncDir(this.dir)
    this.pendingSwitch = next
    this.switchFile(next, true)
    // This process wrote the checkpoint from its own state: nothing to re-apply.
    this.pos = this.checkpointBytes = fs.fstatSync(this.fd).size
  }

  private writeCheckpointFile(seq: number, rename = true): string {
    const final = path.join(this.dir, journalFileName(seq))
    const tmp = `${final}.tmp`
    const fd = fs.openSync(tmp, 'w')
    try {
      writeAllSync(fd, frameEntry(this.state.checkpoint()), 0)
      if (this.options.fsync) fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    if (!rename) return tmp
    fs.renameSync(tmp, final)
    if (this.options.fsync) fsyncDir(this.dir)
    return final
  }

  /**
   * Moves to journal file `next`. A reader that fell behind by several rotations finds `next`
   * already deleted: it jumps to the newest file, whose checkpoint holds the whole state.
   */
  private switchFile(next: number, locked: boolean): boolean {
    let target = next
    let fd = this.tryOpen(target)
    if (fd === undefined) {
      const newest = this.newestSeq()
      if (newest !== undefined && newest > next) {
        target = newest
        fd = this.tryOpen(target)
      } else if (locked) {
        this.writeCheckpointFile(next) // the rotating writer died between marker and rename
        fd = this.tryOpen(next)
      }
      if (fd === undefined) return false
    }
    const old = this.file
    fs.closeSync(this.fd)
    if (locked) unlinkQuiet(old)
    this.fd = fd
    this.seq = target
    this.pos = 0
    this.pendingSwitch = undefined
    log.debug({ from: old, to: this.file }, 'journal rotated')
    return true
  }

  private tryOpen(seq: number): number | undefined {
    try {
      return fs.openSync(path.join(this.dir, journalFileName(seq)), 'r+')
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined
      throw e
    }
  }

  private newestSeq(): number | undefined {
    let newest: number | undefined
    for (const name of fs.readdirSync(this.dir)) {
      const m = JOURNAL_FILE.exec(name)
      if (m !== null && (newest === undefined || Number(m[1]) > newest)) newest = Number(m[1])
    }
    return newest
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd)
    this.fd = -1
  }
}

import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'
import { fsyncDir, isErrno, unlinkQuiet, writeAllSync } from '../shared/fs.ts'
import { encodeLine, JournalFile, type Where } from '../shared/journal.ts'
import { isLegacyJournal, legacyJournal } from './legacy-journal.ts'
import { log } from './logger.ts'
import { JOURNAL_FILE, journalFileName } from './names.ts'
import { malformed, type JournalEntry, type LogState } from './state.ts'

export const journalCorrupt = (reason: string, where: Pick<Where, 'file' | 'position'> & Partial<Where>): TributaryError =>
  new TributaryError(
    'TRIB_LOG_CORRUPT',
    `${where.file}: ${reason} at bytes ${where.position}..${where.end ?? '?'}${where.line === undefined ? '' : ` (line ${where.line})`}`,
    { details: { file: where.file, position: where.position, end: where.end, line: where.line } },
  )

/**
 * The commit journal: the single source of truth for what is committed. Each line (see
 * connectors/shared/journal.ts) is the linearization point of one append or commit, applied to the
 * LogState. The first line of every file is a full checkpoint; past `rotateBytes` the writer starts
 * a new file (checkpoint first, then a marker `{r: next}` in the old one), so files stay small.
 *
 * Any number of processes read it by position. Only the holder of the writer lock appends, rotates,
 * and (when it took over a dead writer's lock) cuts that writer's torn last line. Readers open the
 * files read-only and change nothing.
 */
export class Journal {
  private file: JournalFile | undefined
  private seq = 0
  /** Size of the current file's checkpoint: rotation counts only what was appended after it. */
  private checkpointBytes = 0
  private pendingSwitch: number | undefined
  /** Set while the current file is in the binary format of earlier releases: where its records end. */
  private legacy: { end: number; size: number } | undefined

  constructor(
    private readonly dir: string,
    private readonly state: LogState,
    private readonly options: { rotateBytes: number; fsync: boolean; mode: 'read' | 'write' },
  ) {}

  get fileName(): string {
    return path.join(this.dir, journalFileName(this.seq))
  }

  /** End of the last complete line read or written. */
  get position(): number {
    return this.file?.position ?? 0
  }

  /**
   * Opens the newest journal file and applies it. A writer (under the lock) creates the first file
   * of a new log; nothing else is changed until `settle`. Returns false when there is no journal at
   * all (a reader of a log never written).
   */
  open(hasSegments: boolean): boolean {
    const writer = this.options.mode === 'write'
    const seqs = this.journalSeqs()
    if (seqs.length === 0) {
      if (hasSegments) {
        throw new TributaryError('TRIB_LOG_CORRUPT', `${this.dir} holds no journal but segment files exist: refusing to treat them as uncommitted`, {
          details: { file: this.dir },
        })
      }
      if (!writer) return false
      fs.mkdirSync(this.dir, { recursive: true })
      this.writeCheckpointFile(0)
      seqs.push(0)
    }
    this.seq = seqs[seqs.length - 1]!
    this.openFile()
    this.catchUp()
    return true
  }

  /**
   * Writer, once the journal's tail is known to be sound (or cut): converts a journal of an earlier
   * release and removes what rotations leave behind (`.tmp` files, older journal files).
   */
  settle(): void {
    if (this.legacy !== undefined) this.convertLegacy()
    for (const name of fs.readdirSync(this.dir)) {
      const m = JOURNAL_FILE.exec(name)
      if (name.endsWith('.tmp') || (m !== null && Number(m[1]) < this.seq)) unlinkQuiet(path.join(this.dir, name))
    }
  }

  /** Applies what was appended since the last call, following rotations; true when anything changed. */
  catchUp(): boolean {
    let changed = false
    for (;;) {
      if (this.pendingSwitch !== undefined) {
        if (!this.switchFile(this.pendingSwitch)) return changed
        changed = true
      }
      if (this.legacy !== undefined) return this.jumpFromLegacy() || changed
      if (this.file === undefined && !this.openNewest()) return changed
      const file = this.file!
      if (file.read(this.onLine) > 0) changed = true
      if (this.pendingSwitch === undefined) return changed
    }
  }

  /** Applies one line read back; stops the read at a rotation marker. Made once: catchUp runs per append and poll. */
  private readonly onLine = (value: unknown, where: Where): boolean => {
    const entry = this.decode(value, where)
    if (where.position === 0) this.checkpointBytes = where.end
    if (entry.r === undefined) return true
    this.pendingSwitch = entry.r
    return false
  }

  /** Bytes after the last complete line, as the last catchUp found them: a write in progress, or a torn append. */
  tail(): { file: string; from: number; to: number } | undefined {
    if (this.legacy !== undefined) return this.legacy.end < this.legacy.size ? { file: this.fileName, from: this.legacy.end, to: this.legacy.size } : undefined
    const f = this.file
    return f === undefined || f.unterminated === 0 ? undefined : { file: f.file, from: f.position, to: f.position + f.unterminated }
  }

  /** Writer, after taking over a dead writer's lock: cuts that writer's torn last line. */
  cutTornTail(): void {
    if (this.legacy !== undefined) {
      this.legacy.size = this.legacy.end // the conversion leaves it behind
      return
    }
    const cut = this.file?.cutTail() ?? 0
    if (cut > 0) log.warn({ file: this.fileName, bytes: cut }, 'torn journal line of a dead writer cut')
  }

  private decode(value: unknown, where: Where): JournalEntry {
    let entry: JournalEntry
    try {
      const reason = malformed(value)
      if (reason !== undefined) throw new Error(reason)
      entry = value as JournalEntry
      if (where.position === 0 && entry.c !== 1) throw new Error('first record is not a checkpoint')
      this.state.apply(entry)
    } catch (e) {
      // The checksum matched, so this is not a torn write: the journal itself is wrong.
      throw journalCorrupt(`journal record is invalid (${(e as Error).message})`, where)
    }
    return entry
  }

  /** Appends one record (under the writer lock, after catchUp) and applies it. */
  commit(entry: JournalEntry): void {
    this.file!.append([entry], this.options.fsync)
    this.state.apply(entry)
  }

  /**
   * Starts a new file once this one holds rotateBytes past its checkpoint. Housekeeping after a
   * commit: a failure is logged and tried again after the next commit, never reported as a failed
   * append (the append is committed already).
   */
  maybeRotate(): void {
    if (this.position - this.checkpointBytes < this.options.rotateBytes) return
    try {
      this.rotate()
    } catch (e) {
      log.warn({ file: this.fileName, err: (e as Error).message }, 'journal rotation failed; retried after the next commit')
    }
  }

  /**
   * New file first (as .tmp, full checkpoint), then the marker in the old file, then the rename:
   * a reader that sees the marker waits for the file, and a writer that died in between leaves
   * either a .tmp (removed on open) or a marker whose file the next lock holder creates.
   */
  private rotate(): void {
    const next = this.seq + 1
    const tmp = this.writeCheckpointFile(next, false)
    this.file!.append([{ r: next }], this.options.fsync)
    fs.renameSync(tmp, path.join(this.dir, journalFileName(next)))
    if (this.options.fsync) fsyncDir(this.dir)
    this.switchFile(next)
    // This process wrote the checkpoint from its own state: nothing to re-apply.
    this.file!.position = this.checkpointBytes = this.file!.size()
    this.file!.lines = 1
  }

  private writeCheckpointFile(seq: number, rename = true): string {
    const final = path.join(this.dir, journalFileName(seq))
    const tmp = `${final}.tmp`
    const fd = fs.openSync(tmp, 'w')
    try {
      writeAllSync(fd, encodeLine(this.state.checkpoint()), 0)
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
   * already deleted: it jumps to the newest file, whose checkpoint holds the whole state. A writer
   * finding a marker without its file (the rotating writer died between marker and rename) creates
   * it from the state, which the marker left complete.
   */
  private switchFile(next: number): boolean {
    let target = next
    if (!this.exists(target)) {
      const newest = this.journalSeqs().at(-1)
      if (newest !== undefined && newest > next) target = newest
      else if (this.options.mode === 'write') this.writeCheckpointFile(next)
      else return false
    }
    const old = this.fileName
    this.seq = target
    this.openFile()
    this.pendingSwitch = undefined
    if (this.options.mode === 'write') unlinkQuiet(old)
    log.debug({ from: old, to: this.fileName }, 'journal rotated')
    return true
  }

  /** A reader that opened a log before its first writer: picks up the journal once it exists. */
  private openNewest(): boolean {
    const newest = this.journalSeqs().at(-1)
    if (newest === undefined) return false
    this.seq = newest
    this.openFile()
    return true
  }

  private openFile(): void {
    this.file?.close()
    this.file = undefined
    this.legacy = undefined
    if (isLegacyJournal(this.fileName)) this.readLegacy()
    else this.file = JournalFile.open(this.fileName, this.options.mode, journalCorrupt)
  }

  // ---- journals written by earlier releases (binary frames): read whole, converted by a writer ----

  private readLegacy(): void {
    const { entries, end, size } = legacyJournal(fs.readFileSync(this.fileName))
    for (const [i, { entry, position, next }] of entries.entries()) {
      this.decode(entry, { file: this.fileName, position, end: next, line: i + 1 })
    }
    this.legacy = { end, size }
  }

  /** A reader on a binary journal follows the writer that converts it. */
  private jumpFromLegacy(): boolean {
    const newest = this.journalSeqs().at(-1)
    return newest !== undefined && newest > this.seq && this.switchFile(newest)
  }

  /** Rewrites a binary journal as a line journal: a rotation to the next file number. */
  private convertLegacy(): void {
    const next = this.seq + 1
    this.writeCheckpointFile(next)
    this.switchFile(next)
    this.file!.read(() => true)
    this.checkpointBytes = this.file!.position
    log.info({ file: this.fileName }, 'journal converted from the binary format of an earlier release')
  }

  private exists(seq: number): boolean {
    try {
      fs.accessSync(path.join(this.dir, journalFileName(seq)))
      return true
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false
      throw e
    }
  }

  private journalSeqs(): number[] {
    let names: string[]
    try {
      names = fs.readdirSync(this.dir)
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return []
      throw e
    }
    const seqs: number[] = []
    for (const name of names) {
      const m = JOURNAL_FILE.exec(name)
      if (m !== null) seqs.push(Number(m[1]))
    }
    return seqs.sort((a, b) => a - b)
  }

  close(): void {
    this.file?.close()
    this.file = undefined
  }
}

import fs from 'node:fs'
import path from 'node:path'
import type { TributaryError } from '../../runtime/errors.ts'
import type { PartitionInfo } from '../../runtime/log/log.ts'
import { fsyncDir, isErrno, UndoFailed, unlinkQuiet, writeAllSync } from '../shared/fs.ts'
import { ensureDir, type ReadFiles } from './files.ts'
import { segmentFileName } from './names.ts'
import { partitionDamage } from './recovery.ts'
import { Segment } from './segment.ts'

/** What one append did to one partition; becomes a `p` entry of the journal record. */
export interface PartitionWrite {
  seg: number
  end: number
  pos: number
  from: number
}

interface WriterFile {
  base: number
  fd: number
  /** File size as this process last left it; undefined = unknown, check before writing. */
  size: number | undefined
}

/**
 * One topic-partition: its segments (committed extents, from the journal), read positioning, and
 * the writer side used under the writer lock. A damaged partition (see recovery.ts) refuses reads
 * and appends with its damage, and nothing else.
 */
export class Partition {
  readonly segments: Segment[] = []
  /** Offset the next appended record gets; everything below is committed. */
  end = 0
  /** Why this partition cannot be read or written, when its files do not match the journal. */
  damage: TributaryError | undefined
  private writer: WriterFile | undefined

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly files: ReadFiles,
  ) {}

  info(): PartitionInfo {
    return { partition: this.partition, start: 0, end: this.end, ...(this.damage ? { damaged: this.damage.message } : {}) }
  }

  markDamaged(damage: TributaryError): void {
    this.damage ??= damage
  }

  assertSound(): void {
    if (this.damage !== undefined) throw this.damage
  }

  segmentFile(base: number): string {
    return path.join(this.dir, segmentFileName(base))
  }

  /**
   * Applies a committed `p` entry. Idempotent, so a checkpoint replayed over known state (a reader
   * crossing a journal rotation) changes nothing.
   */
  applyCommit(seg: number, end: number, pos: number, from: number): void {
    const last = this.segments[this.segments.length - 1]
    if (last === undefined || seg > last.base) {
      this.segments.push(new Segment(seg, this.segmentFile(seg), { topic: this.topic, partition: this.partition }, pos, end, from))
    } else if (seg === last.base && end >= last.end) {
      last.bytes = pos
      last.end = end
      last.lastBatchFrom = from
    }
    if (end > this.end) this.end = end
  }

  /** Segment index holding offset (offset < end). */
  segmentIndexFor(offset: number): number {
    let lo = 0
    let hi = this.segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.segments[mid]!.base <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** First offset with timestamp >= t; `end` when none (Kafka's ListOffsets semantics). */
  async offsetForTimestamp(t: number): Promise<number> {
    this.assertSound()
    const end = this.end
    const count = this.segments.length
    for (let i = 0; i < count; i++) {
      const found = await this.segments[i]!.firstAtOrAfter(t, this.files)
      if (found !== undefined) return found
    }
    return end
  }

  // ---- writer side: only ever called while holding the writer lock ----

  /**
   * Writes an encoded batch at the committed end with one positional write, rolling to a new
   * segment first when the active one would pass segmentBytes. Nothing is visible until the
   * caller journals the returned extent; if it cannot, it calls `undo`.
   */
  write(batch: Buffer, count: number, segmentBytes: number, fsync: boolean): PartitionWrite {
    this.assertSound()
    const active = this.segments[this.segments.length - 1]
    const roll = active === undefined || (active.bytes > 0 && active.bytes + batch.length > segmentBytes)
    const base = roll ? this.end : active.base
    const from = roll ? 0 : active.bytes
    const file = this.openWriter(base, roll, from, fsync)
    const w = { seg: base, end: this.end + count, pos: from + batch.length, from }
    try {
      writeAllSync(file.fd, batch, from)
      if (fsync) fs.fsyncSync(file.fd)
    } catch (e) {
      try {
        this.undo(w)
      } catch (undo) {
        throw new UndoFailed(this.segmentFile(base), e, undo)
      }
      throw e
    }
    file.size = w.pos
    return w
  }

  /**
   * Takes back a write whose journal record was never written: its bytes were never acknowledged.
   * Throws when it cannot (the caller then keeps the writer lock, so the next writer finds a dead
   * writer's torn append, not damage).
   */
  undo(w: PartitionWrite): void {
    const rolled = !this.segments.some((s) => s.base === w.seg)
    const file = this.segmentFile(w.seg)
    if (this.writer?.base === w.seg) this.writer.size = undefined
    if (rolled) {
      this.closeWriter()
      this.files.forget(file)
      unlinkQuiet(file)
    } else {
      fs.truncateSync(file, w.from)
      if (this.writer?.base === w.seg) this.writer.size = w.from
    }
  }

  private openWriter(base: number, roll: boolean, committed: number, fsync: boolean): WriterFile {
    if (this.writer !== undefined && (roll || this.writer.base !== base)) this.closeWriter()
    if (roll) {
      ensureDir(this.dir)
      const name = this.segmentFile(base)
      let fd: number
      try {
        fd = fs.openSync(name, 'wx')
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e
        const size = fs.statSync(name).size
        this.markDamaged(partitionDamage(this, name, 0, size, 'exists although the journal never committed it: the journal may have lost records'))
        throw this.damage!
      }
      if (fsync) fsyncDir(this.dir)
      this.writer = { base, fd, size: 0 }
      return this.writer
    }
    if (this.writer === undefined) this.writer = { base, fd: fs.openSync(this.segmentFile(base), 'r+'), size: undefined }
    if (this.writer.size !== committed) this.checkEnd(this.writer, committed)
    return this.writer
  }

  /** The file must end where the journal says: anything else is damage, never cut here. */
  private checkEnd(file: WriterFile, committed: number): void {
    const name = this.segmentFile(file.base)
    const size = fs.fstatSync(file.fd).size
    if (size !== committed) {
      const what = size < committed ? `is ${size} bytes but ${committed} are committed` : 'holds bytes past its committed end that no live writer is appending'
      this.markDamaged(partitionDamage(this, name, Math.min(size, committed), Math.max(size, committed), what))
      throw this.damage!
    }
    file.size = committed
  }

  closeWriter(): void {
    if (this.writer === undefined) return
    try {
      fs.closeSync(this.writer.fd)
    } catch (e) {
      if (!isErrno(e, 'EBADF')) throw e
    }
    this.writer = undefined
  }

  /** After another writer changed the file (a dead writer's lock was taken over): check before writing. */
  invalidateWriter(): void {
    if (this.writer !== undefined) this.writer.size = undefined
  }
}

import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'
import type { PartitionInfo } from '../../runtime/log/log.ts'
import { ensureDir, fsyncDir, isErrno, writeAllSync, type ReadFiles } from './files.ts'
import { log } from './logger.ts'
import { segmentFileName } from './names.ts'
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
 * the writer side used under the writer lock.
 */
export class Partition {
  readonly segments: Segment[] = []
  /** Offset the next appended record gets; everything below is committed. */
  end = 0
  private writer: WriterFile | undefined

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly files: ReadFiles,
  ) {}

  info(): PartitionInfo {
    return { partition: this.partition, start: 0, end: this.end }
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
   * caller journals the returned extent.
   */
  write(batch: Buffer, count: number, segmentBytes: number, fsync: boolean): PartitionWrite {
    const active = this.segments[this.segments.length - 1]
    const roll = active === undefined || (active.bytes > 0 && active.bytes + batch.length > segmentBytes)
    const base = roll ? this.end : active.base
    const from = roll ? 0 : active.bytes
    const file = this.openWriter(base, roll, from, fsync)
    try {
      writeAllSync(file.fd, batch, from)
      if (fsync) fs.fsyncSync(file.fd)
    } catch (e) {
      file.size = undefined
      throw e
    }
    file.size = from + batch.length
    return { seg: base, end: this.end + count, pos: from + batch.length, from }
  }

  /** After a failed journal write the file may hold uncommitted bytes: check before the next write. */
  invalidateWriter(): void {
    if (this.writer !== undefined) this.writer.size = undefined
  }

  private openWriter(base: number, roll: boolean, committed: number, fsync: boolean): WriterFile {
    if (this.writer !== undefined && (roll || this.writer.base !== base)) this.closeWriter()
    if (roll) {
      // A file of this name can only be an uncommitted roll (of a dead writer, or of ours whose
      // journal write failed): 'w' truncates it.
      ensureDir(this.dir)
      const fd = fs.openSync(this.segmentFile(base), 'w')
      if (fsync) fsyncDir(this.dir)
      this.writer = { base, fd, size: 0 }
      return this.writer
    }
    if (this.writer === undefined) this.writer = { base, fd: fs.openSync(this.segmentFile(base), 'r+'), size: undefined }
    if (this.writer.size !== committed) this.trimTail(this.writer, committed)
    return this.writer
  }

  /** Cuts bytes a dead writer left past the committed end (they were never journaled). */
  private trimTail(file: WriterFile, committed: number): void {
    const name = this.segmentFile(file.base)
    const size = fs.fstatSync(file.fd).size
    if (size < committed) {
      throw new TributaryError('TRIB_LOG_CORRUPT', `${name} is ${size} bytes but ${committed} are committed`, {
        details: { file: name, size, committed, topic: this.topic, partition: this.partition },
      })
    }
    if (size > committed) {
      fs.ftruncateSync(file.fd, committed)
      log.warn({ file: name, bytes: size - committed }, 'torn tail truncated')
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
}

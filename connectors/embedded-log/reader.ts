import { isTributaryError } from '../../runtime/errors.ts'
import type { LogRecord } from '../../runtime/log/log.ts'
import { FRAME_HEAD, MIN_FRAME, parseRecords, readFrameLength } from './codec.ts'
import type { ReadFiles } from './files.ts'
import type { Partition } from './partition.ts'
import type { Segment } from './segment.ts'

/**
 * A read position in one partition. Records are parsed lazily out of one read chunk at a time, so
 * a reader holds at most two chunks (~1 MB each: the one being parsed and the next one, read ahead
 * while the first is parsed) and never a queue of decoded records. Reads stop at the committed
 * extent of each segment, so nothing uncommitted is ever delivered.
 */
export class PartitionReader {
  /** Next offset to deliver. */
  private target: number
  private segIdx = -1
  private chunk: Buffer | null = null
  /** File position of chunk[0]. */
  private chunkPos = 0
  /** Index in chunk of the next frame, and that frame's offset. */
  private at = 0
  private frameOffset = 0
  /** The next chunk of the current segment, being read while this one is parsed. */
  private ahead: { segIdx: number; pos: number; chunk: Promise<Buffer | undefined> } | undefined

  constructor(
    readonly partition: Partition,
    private readonly files: ReadFiles,
    offset: number,
  ) {
    this.target = offset
  }

  get position(): number {
    return this.target
  }

  seek(offset: number): void {
    this.target = offset
    this.segIdx = -1
    this.chunk = null
    this.ahead = undefined
  }

  hasMore(): boolean {
    return this.target < this.partition.end
  }

  /**
   * Appends up to max records to out; resolves how many it added (0 when caught up). Damage found
   * on the way marks the partition (see recovery.ts), so every later read reports it too.
   */
  async read(max: number, out: LogRecord[]): Promise<number> {
    this.partition.assertSound()
    try {
      return await this.readSound(max, out)
    } catch (e) {
      if (isTributaryError(e, 'TRIB_LOG_CORRUPT')) this.partition.markDamaged(e)
      throw e
    }
  }

  private async readSound(max: number, out: LogRecord[]): Promise<number> {
    let added = 0
    while (added < max && this.target < this.partition.end) {
      if (this.chunk !== null && this.at < this.chunk.length) {
        const seg = this.partition.segments[this.segIdx]!
        const before = out.length
        const r = parseRecords(this.chunk, this.at, this.chunk.length, seg.source(this.chunkPos), this.frameOffset, this.target, max - added, out)
        added += out.length - before
        if (r.next > this.at) {
          this.at = r.next
          this.frameOffset = r.nextOffset
          if (r.nextOffset > this.target) this.target = r.nextOffset
          continue
        }
      }
      if (!(await this.fill())) break
    }
    return added
  }

  /** Loads the chunk holding the next frame; false when the committed data is exhausted. */
  private async fill(): Promise<boolean> {
    const segments = this.partition.segments
    let pos: number
    if (this.segIdx < 0) {
      if (this.target >= this.partition.end) return false
      this.segIdx = this.partition.segmentIndexFor(this.target)
      const floor = await segments[this.segIdx]!.floor(this.target, this.files)
      pos = floor.pos
      this.frameOffset = floor.offset
    } else {
      pos = this.chunk === null ? 0 : this.chunkPos + this.at
    }
    let seg = segments[this.segIdx]!
    while (pos >= seg.bytes) {
      const next = segments[this.segIdx + 1]
      if (next === undefined) return false
      this.segIdx++
      seg = next
      pos = 0
      this.frameOffset = seg.base
    }
    const ahead = this.ahead
    this.ahead = undefined
    const early = ahead !== undefined && ahead.segIdx === this.segIdx && ahead.pos === pos ? await ahead.chunk : undefined
    this.chunk = early ?? (await seg.readChunk(this.files, pos, seg.bytes))
    this.chunkPos = pos
    this.at = 0
    this.readAhead(seg, pos + wholeFrames(this.chunk))
    return true
  }

  /**
   * Starts reading the chunk after this one, so the disk read (in libuv's pool, on another core)
   * overlaps the parsing and processing of this one. A failed read ahead is forgotten: the chunk
   * is read again when needed, and that read reports the error.
   */
  private readAhead(seg: Segment, pos: number): void {
    if (pos >= seg.bytes) return
    const chunk = seg.readChunk(this.files, pos, seg.bytes).then(
      (c) => c,
      () => undefined,
    )
    this.ahead = { segIdx: this.segIdx, pos, chunk }
  }
}

/** Bytes of the whole frames at the start of a chunk: where the next chunk starts. */
function wholeFrames(chunk: Buffer): number {
  let at = 0
  while (at + FRAME_HEAD <= chunk.length) {
    const length = readFrameLength(chunk, at)
    if (length < MIN_FRAME || at + length > chunk.length) break
    at += length
  }
  return at
}

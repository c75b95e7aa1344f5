import type { LogRecord } from '../../runtime/log/log.ts'
import { parseRecords } from './codec.ts'
import type { ReadFiles } from './files.ts'
import type { Partition } from './partition.ts'

/**
 * A read position in one partition. Records are parsed lazily out of one read chunk at a time, so
 * a reader holds at most one chunk (~1 MB) and never a queue of decoded records. Reads stop at the
 * committed extent of each segment, so nothing uncommitted is ever delivered.
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
  }

  hasMore(): boolean {
    return this.target < this.partition.end
  }

  /** Appends up to max records to out; resolves how many it added (0 when caught up). */
  async read(max: number, out: LogRecord[]): Promise<number> {
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
    this.chunk = await seg.readChunk(this.files, pos, seg.bytes)
    this.chunkPos = pos
    this.at = 0
    return true
  }
}

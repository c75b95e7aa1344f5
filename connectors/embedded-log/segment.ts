import { checkFrame, corrupt, FRAME_HEAD, readFrameLength, readTimestamp, type ChunkSource } from './codec.ts'
import type { ReadFiles } from './files.ts'

export const CHUNK_BYTES = 1024 * 1024
const INDEX_EVERY_BYTES = 4096

/**
 * One segment file: committed extent (from the journal, never from the file size, which may hold
 * a dead writer's garbage) plus a sparse index built lazily by scanning frame headers.
 *
 * Index entry i points at a record start (offset, position) and carries the largest timestamp of
 * the records before it in this segment, so a timestamp search can binary-search the running max
 * and scan at most ~4 KB of records.
 */
export class Segment {
  /** Committed bytes. */
  bytes: number
  /** Offset after the last committed record. */
  end: number
  /** Byte position where the last committed batch starts (checked on open). */
  lastBatchFrom: number

  private readonly idxOffset: number[] = []
  private readonly idxPos: number[] = []
  private readonly idxMaxBefore: number[] = []
  private scannedPos = 0
  private scannedOffset: number
  private scannedMax = -Infinity
  private scanning: Promise<void> | null = null

  constructor(
    readonly base: number,
    readonly file: string,
    private readonly src: Omit<ChunkSource, 'filePos' | 'file'>,
    bytes: number,
    end: number,
    lastBatchFrom: number,
  ) {
    this.bytes = bytes
    this.end = end
    this.lastBatchFrom = lastBatchFrom
    this.scannedOffset = base
  }

  source(filePos: number): ChunkSource {
    return { ...this.src, file: this.file, filePos }
  }

  /** The indexed record at or before offset: where a reader positions before skipping forward. */
  async floor(offset: number, files: ReadFiles): Promise<{ pos: number; offset: number }> {
    await this.indexUntil(files, () => this.scannedOffset > offset)
    const i = upperBound(this.idxOffset, offset) - 1
    if (i < 0) return { pos: 0, offset: this.base }
    return { pos: this.idxPos[i]!, offset: this.idxOffset[i]! }
  }

  /** First offset in this segment with timestamp >= t, or undefined. */
  async firstAtOrAfter(t: number, files: ReadFiles): Promise<number | undefined> {
    await this.indexUntil(files, () => false)
    if (!(this.scannedMax >= t)) return undefined
    // idxMaxBefore is a running max, hence sorted: the first entry whose predecessors reach t.
    const i = lowerBoundMax(this.idxMaxBefore, t)
    const from = Math.max(i - 1, 0)
    let pos = this.idxPos[from] ?? 0
    let offset = this.idxOffset[from] ?? this.base
    const stop = this.scannedPos
    while (pos < stop) {
      const chunk = await this.readChunk(files, pos, stop)
      const src = this.source(pos)
      let at = 0
      while (at + FRAME_HEAD <= chunk.length) {
        const length = checkFrame(chunk, at, chunk.length, src, offset)
        if (length < 0) break
        if (readTimestamp(chunk, at) >= t) return offset
        at += length
        offset++
      }
      pos += at
    }
    throw corrupt(this.source(pos), 0, `index promised a timestamp >= ${t} that the records do not hold`)
  }

  /** Extends the index over committed bytes until `done()` holds or everything committed is indexed. */
  private async indexUntil(files: ReadFiles, done: () => boolean): Promise<void> {
    while (!done() && this.scannedPos < this.bytes) {
      if (this.scanning === null) {
        this.scanning = this.scanChunk(files).finally(() => {
          this.scanning = null
        })
      }
      await this.scanning
    }
  }

  private async scanChunk(files: ReadFiles): Promise<void> {
    const start = this.scannedPos
    const limit = this.bytes
    const end = this.end
    const chunk = await this.readChunk(files, start, limit)
    const src = this.source(start)
    let at = 0
    let offset = this.scannedOffset
    let max = this.scannedMax
    for (;;) {
      const length = at + FRAME_HEAD <= chunk.length ? checkFrame(chunk, at, chunk.length, src, offset) : -1
      if (length < 0) break
      const pos = start + at
      const lastPos = this.idxPos[this.idxPos.length - 1]
      if (lastPos === undefined || pos - lastPos >= INDEX_EVERY_BYTES) {
        this.idxOffset.push(offset)
        this.idxPos.push(pos)
        this.idxMaxBefore.push(max)
      }
      const ts = readTimestamp(chunk, at)
      if (ts > max) max = ts
      at += length
      offset++
    }
    this.scannedPos = start + at
    this.scannedOffset = offset
    this.scannedMax = max
    if (this.scannedPos === limit && offset !== end) {
      throw corrupt(src, at, `committed bytes end at offset ${offset - 1} but the journal says ${end - 1}`)
    }
  }

  /**
   * Reads committed bytes from pos (at most one chunk, but always at least one whole frame, so a
   * record larger than a chunk still parses). A frame crossing the committed end is corruption.
   */
  async readChunk(files: ReadFiles, pos: number, limit: number): Promise<Buffer> {
    const src = this.source(pos)
    if (pos + FRAME_HEAD > limit) throw corrupt(src, 0, `a record header crosses the committed end (byte ${limit})`)
    let want = Math.min(CHUNK_BYTES, limit - pos)
    let chunk = await files.read(this.file, pos, want)
    if (chunk.length >= FRAME_HEAD) {
      const first = readFrameLength(chunk, 0)
      if (first > limit - pos) throw corrupt(src, 0, `a record of ${first} bytes crosses the committed end (byte ${limit})`)
      if (first > want) {
        want = first
        chunk = await files.read(this.file, pos, want)
      }
    }
    if (chunk.length < want) throw corrupt(src, chunk.length, `file ends before the committed byte ${limit}`)
    return chunk
  }
}

/** First index with a[i] > x. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index with a[i] >= t (a is non-decreasing); a.length when none. */
function lowerBoundMax(a: readonly number[], t: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

import { TributaryError } from '../../runtime/errors.ts'
import type { Headers, LogRecord, OutgoingRecord } from '../../runtime/log/log.ts'
import { crc32Range } from './crc.ts'

/**
 * The segment record frame. Big-endian throughout; the CRC covers every byte after itself, so a
 * torn or bit-flipped record is always detected:
 *
 *   u32 len (bytes after the crc) | u32 crc32 | u32 offsetHi | u32 offsetLo | f64 timestamp |
 *   i32 keyLen (-1 = null) | key | i32 valueLen (-1 = null) | value |
 *   u16 headerCount | (u16 nameLen | name utf8 | i32 valueLen | value)*
 *
 * The offset is stored as two u32 halves (int64 layout) so the hot path never touches BigInt.
 */
export const FRAME_HEAD = 8
const FIXED_BODY = 8 + 8 + 4 + 4 + 2
/** Smallest possible frame (null key, null value, no headers). */
export const MIN_FRAME = FRAME_HEAD + FIXED_BODY
/** Sanity bound on one frame; a larger length field can only be garbage. */
export const MAX_FRAME = 0x7fff_ffff
const TWO_32 = 4294967296
const MAX_HEADERS = 0xffff

/** Where a parsed buffer came from, so corruption errors can name the file and byte position. */
export interface ChunkSource {
  file: string
  topic: string
  partition: number
  /** File position of chunk[0]. */
  filePos: number
}

export const readOffset = (buf: Buffer, frameStart: number): number =>
  buf.readUInt32BE(frameStart + 8) * TWO_32 + buf.readUInt32BE(frameStart + 12)
export const readTimestamp = (buf: Buffer, frameStart: number): number => buf.readDoubleBE(frameStart + 16)
/** Total bytes of the frame starting at frameStart (header included). */
export const readFrameLength = (buf: Buffer, frameStart: number): number => FRAME_HEAD + buf.readUInt32BE(frameStart)

function frameSize(r: OutgoingRecord): number {
  let size = MIN_FRAME + (r.key === null ? 0 : r.key.length) + (r.value === null ? 0 : r.value.length)
  const headers = r.headers
  if (headers !== undefined) {
    for (const name in headers) size += 6 + Buffer.byteLength(name) + headers[name]!.length
  }
  return size
}

function headerCount(headers: Headers | undefined): number {
  let n = 0
  if (headers !== undefined) for (const _ in headers) n++
  return n
}

/**
 * Frames records with consecutive offsets from baseOffset into ONE buffer, so a partition's part
 * of an append is a single positional write.
 */
export function encodeBatch(records: readonly OutgoingRecord[], baseOffset: number, timestamps: readonly number[]): Buffer {
  let total = 0
  for (const r of records) total += frameSize(r)
  const buf = Buffer.allocUnsafe(total)
  let p = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const start = p
    const offset = baseOffset + i
    p += FRAME_HEAD
    buf.writeUInt32BE(Math.floor(offset / TWO_32), p)
    buf.writeUInt32BE(offset >>> 0, p + 4)
    buf.writeDoubleBE(timestamps[i]!, p + 8)
    p += 16
    p = writeBytes(buf, p, r.key)
    p = writeBytes(buf, p, r.value)
    const count = headerCount(r.headers)
    if (count > MAX_HEADERS) {
      throw new TributaryError('TRIB_RECORD_TOO_LARGE', `record for ${r.topic} has ${count} headers (max ${MAX_HEADERS})`, {
        details: { topic: r.topic },
      })
    }
    buf.writeUInt16BE(count, p)
    p += 2
    if (count > 0) {
      const headers = r.headers!
      for (const name in headers) {
        const nameLen = buf.write(name, p + 2, 'utf8')
        buf.writeUInt16BE(nameLen, p)
        p += 2 + nameLen
        p = writeBytes(buf, p, headers[name]!)
      }
    }
    buf.writeUInt32BE(p - start - FRAME_HEAD, start)
    buf.writeUInt32BE(crc32Range(buf, start + FRAME_HEAD, p), start + 4)
  }
  return buf
}

function writeBytes(buf: Buffer, p: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    buf.writeInt32BE(-1, p)
    return p + 4
  }
  buf.writeInt32BE(bytes.length, p)
  buf.set(bytes, p + 4)
  return p + 4 + bytes.length
}

export const corrupt = (src: ChunkSource, at: number, reason: string, offset?: number): TributaryError =>
  new TributaryError(
    'TRIB_LOG_CORRUPT',
    `${src.file}: ${reason} at byte ${src.filePos + at}` +
      (offset === undefined ? '' : ` (${src.topic}-${src.partition} offset ${offset})`),
    { details: { file: src.file, position: src.filePos + at, topic: src.topic, partition: src.partition, offset } },
  )

/** Checks the frame at `at` is structurally sane and fits in [at, limit); returns its total length. */
export function checkFrame(buf: Buffer, at: number, limit: number, src: ChunkSource, expectedOffset: number): number {
  const length = readFrameLength(buf, at)
  if (length < MIN_FRAME || length > MAX_FRAME) throw corrupt(src, at, `impossible record length ${length}`, expectedOffset)
  if (at + length > limit) return -1
  const offset = readOffset(buf, at)
  if (offset !== expectedOffset) throw corrupt(src, at, `record holds offset ${offset} where ${expectedOffset} was expected`, expectedOffset)
  return length
}

export interface ParseResult {
  /** Chunk index after the last parsed record. */
  next: number
  nextOffset: number
}

/**
 * Parses whole records from chunk[start, limit) into `out` (at most maxRecords), verifying each
 * CRC. Keys, values and header values are zero-copy subarrays of the chunk. Stops at a record that
 * does not fit before `limit`; the caller decides whether that is a chunk boundary or corruption.
 * Records below `skipBelow` are verified but not emitted (positioning from a sparse index entry).
 */
export function parseRecords(
  chunk: Buffer,
  start: number,
  limit: number,
  src: ChunkSource,
  firstOffset: number,
  skipBelow: number,
  maxRecords: number,
  out: LogRecord[],
): ParseResult {
  let p = start
  let offset = firstOffset
  let emitted = 0
  while (emitted < maxRecords && p + FRAME_HEAD <= limit) {
    const length = checkFrame(chunk, p, limit, src, offset)
    if (length < 0) break
    const end = p + length
    if (chunk.readUInt32BE(p + 4) !== crc32Range(chunk, p + FRAME_HEAD, end)) {
      throw corrupt(src, p, 'checksum mismatch', offset)
    }
    if (offset >= skipBelow) {
      out.push(decodeFrame(chunk, p, end, src, offset))
      emitted++
    }
    p = end
    offset++
  }
  return { next: p, nextOffset: offset }
}

function decodeFrame(chunk: Buffer, start: number, end: number, src: ChunkSource, offset: number): LogRecord {
  const timestamp = chunk.readDoubleBE(start + 16)
  let p = start + 24
  const keyLen = chunk.readInt32BE(p)
  p += 4
  const key = keyLen < 0 ? null : chunk.subarray(p, p + keyLen)
  if (keyLen > 0) p += keyLen
  const valueLen = chunk.readInt32BE(p)
  p += 4
  const value = valueLen < 0 ? null : chunk.subarray(p, p + valueLen)
  if (valueLen > 0) p += valueLen
  const count = chunk.readUInt16BE(p)
  p += 2
  const headers: Headers = {}
  for (let h = 0; h < count; h++) {
    const nameLen = chunk.readUInt16BE(p)
    const name = chunk.toString('utf8', p + 2, p + 2 + nameLen)
    p += 2 + nameLen
    const len = chunk.readInt32BE(p)
    headers[name] = chunk.subarray(p + 4, p + 4 + Math.max(len, 0))
    p += 4 + Math.max(len, 0)
  }
  // The CRC matched, so a mismatch here means a writer bug rather than disk damage; still refuse it.
  if (p !== end) throw corrupt(src, start, 'record fields do not add up to its length', offset)
  return { topic: src.topic, partition: src.partition, offset, timestamp, key, value, headers }
}

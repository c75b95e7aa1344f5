import fs from 'node:fs'
import { crc32 } from 'node:zlib'

/**
 * The binary journal of earlier releases (`u32 length | u32 crc32 | JSON`), read so that a log
 * written by them opens; the first writer rewrites it as a line journal (journal.ts).
 */

/** A line journal starts with a hex digit; a binary one with the high byte of a length. */
export function isLegacyJournal(file: string): boolean {
  const fd = fs.openSync(file, 'r')
  try {
    const first = Buffer.alloc(1)
    return fs.readSync(fd, first, 0, 1, 0) === 1 && first[0] === 0
  } finally {
    fs.closeSync(fd)
  }
}

/** The records up to the first incomplete or failing one; `end` is where they stop. */
export function legacyJournal(buf: Buffer): { entries: Array<{ entry: unknown; position: number; next: number }>; end: number; size: number } {
  const entries: Array<{ entry: unknown; position: number; next: number }> = []
  let at = 0
  while (at + 8 <= buf.length) {
    const len = buf.readUInt32BE(at)
    const next = at + 8 + len
    if (len < 2 || next > buf.length) break
    const payload = buf.subarray(at + 8, next)
    if (buf.readUInt32BE(at + 4) !== crc32(payload)) break
    let entry: unknown
    try {
      entry = JSON.parse(payload.toString('utf8'))
    } catch {
      break
    }
    entries.push({ entry, position: at, next })
    at = next
  }
  return { entries, end: at, size: buf.length }
}

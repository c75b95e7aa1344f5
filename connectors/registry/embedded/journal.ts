import fs from 'node:fs/promises'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { TributaryError } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'

/**
 * An append-only file of JSON events, one per line: `<crc32 of the JSON, 8 hex> <JSON>\n`. One
 * operation is one line, so it is applied whole or not at all: a crash mid-append leaves a torn
 * last line (no newline, or a checksum that fails), which readers ignore and the next writer,
 * holding the lock, truncates. A failing line that is not the last is corruption.
 *
 * The journal remembers how far it has read; `read` returns only events appended since. It is not
 * safe for concurrent calls: its owner serializes them.
 */

const log = moduleLogger('registry')
const NEWLINE = 0x0a

export class Journal {
  readonly file: string
  #offset = 0
  #line = 0

  constructor(file: string) {
    this.file = file
  }

  /** Creates the file if missing, durably (its directory entry too). */
  async ensure(): Promise<void> {
    const handle = await fs.open(this.file, 'a')
    await handle.close()
    const dir = await fs.open(path.dirname(this.file), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }

  /** Bytes read so far (0: an empty file). */
  get offset(): number {
    return this.#offset
  }

  /**
   * Events appended since the last read. `writer` (holding the lock) truncates a torn tail, which
   * can then only come from a writer that died; a reader leaves it, as a writer may be mid-append.
   */
  async read(mode: 'reader' | 'writer'): Promise<unknown[]> {
    const handle = await fs.open(this.file, mode === 'writer' ? 'r+' : 'r')
    try {
      const { size } = await handle.stat()
      if (size < this.#offset) {
        throw new TributaryError('TRIB_REGISTRY_CORRUPT', `${this.file}: file shrank below byte ${this.#offset} already read (now ${size} bytes)`, {
          details: { file: this.file },
        })
      }
      if (size === this.#offset) return []
      const bytes = Buffer.allocUnsafe(size - this.#offset)
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, this.#offset)
      const { events, consumed } = this.#parse(bytes.subarray(0, bytesRead))
      this.#offset += consumed
      if (mode === 'writer' && this.#offset < size) {
        log.warn({ file: this.file, offset: this.#offset, bytes: size - this.#offset }, 'truncating a torn last line of the registry file')
        await handle.truncate(this.#offset)
        await handle.datasync()
      }
      return events
    } finally {
      await handle.close()
    }
  }

  /** Appends events as lines, durably. Call under the lock, right after `read('writer')`. */
  async append(events: readonly object[]): Promise<void> {
    const text = events.map((e) => encodeLine(e)).join('')
    const bytes = Buffer.from(text)
    const handle = await fs.open(this.file, 'r+')
    try {
      await handle.write(bytes, 0, bytes.length, this.#offset)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    this.#offset += bytes.length
    this.#line += events.length
  }

  #parse(bytes: Buffer): { events: unknown[]; consumed: number } {
    const events: unknown[] = []
    let start = 0
    while (start < bytes.length) {
      const end = bytes.indexOf(NEWLINE, start)
      if (end < 0) break // torn: no newline yet
      const event = decodeLine(bytes.toString('utf8', start, end))
      if (event === undefined) {
        if (end + 1 >= bytes.length) break // a torn last line
        throw new TributaryError(
          'TRIB_REGISTRY_CORRUPT',
          `${this.file}: line ${this.#line + 1} (byte ${this.#offset + start}) fails its checksum and is not the last line`,
          { details: { file: this.file, line: this.#line + 1, offset: this.#offset + start } },
        )
      }
      events.push(event)
      this.#line++
      start = end + 1
    }
    return { events, consumed: start }
  }
}

export function encodeLine(event: object): string {
  const json = JSON.stringify(event)
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`
}

/** The event of a line, or undefined when the line is torn or fails its checksum. */
export function decodeLine(line: string): unknown {
  if (line.length < 10 || line[8] !== ' ') return undefined
  const json = line.slice(9)
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined
  try {
    return JSON.parse(json) as unknown
  } catch {
    return undefined
  }
}

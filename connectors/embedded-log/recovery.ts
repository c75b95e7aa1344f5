import fs from 'node:fs'
import { TributaryError } from '../../runtime/errors.ts'
import { readSync } from '../shared/fs.ts'
import { parseRecords, readOffset } from './codec.ts'
import { join, readdirOrEmpty, type ReadFiles } from './files.ts'
import { log } from './logger.ts'
import { SEGMENT_FILE, type Layout } from './names.ts'
import type { Partition } from './partition.ts'
import type { LogState } from './state.ts'

/**
 * Segment files against what the journal commits. A crash can leave exactly one thing: the
 * unacknowledged append of the writer that died holding the writer lock, i.e. bytes past the
 * committed end of a partition's last segment, or a rolled segment file starting at the
 * partition's end that the journal never mentions. Only the writer that took over the dead
 * writer's lock cuts those (`crashed`). Everything else is damage: the partition is marked (its
 * reads and appends fail with TRIB_LOG_CORRUPT naming file and byte range, other partitions work)
 * and nothing on disk is changed.
 */

/** Damage that belongs to no partition the journal knows (a directory or file nobody committed). */
export interface StrayDamage {
  file: string
  bytes: number
  reason: string
}

/** True when any segment file exists (a log without a journal must not be "recovered" to empty). */
export function hasSegmentFiles(layout: Layout): boolean {
  for (const topic of readdirOrEmpty(layout.topicsDir)) {
    for (const part of readdirOrEmpty(join(layout.topicsDir, topic))) {
      if (readdirOrEmpty(join(layout.topicsDir, topic, part)).some((f) => SEGMENT_FILE.test(f))) return true
    }
  }
  return false
}

export function partitionDamage(part: Partition, file: string, from: number, to: number, reason: string): TributaryError {
  return new TributaryError(
    'TRIB_LOG_CORRUPT',
    `${part.topic}-${part.partition}: ${file} ${reason} (bytes ${from}..${to}); nothing was changed, see tributary doctor`,
    { details: { topic: part.topic, partition: part.partition, file, position: from, end: to } },
  )
}

/**
 * How the checker looks at bytes the journal does not commit: a reader ('read') tolerates them (a
 * live writer may be appending; reads stop at the committed end anyway); a writer holding the lock
 * ('write') knows nobody is appending, so they are damage; a writer that took over a dead writer's
 * lock ('crashed') cuts that writer's unacknowledged append.
 */
export type CheckMode = 'read' | 'write' | 'crashed'

/**
 * Checks every partition (files present, committed extents there, last committed batch sound) and
 * handles uncommitted bytes by `mode`. Marks damaged partitions; returns what it found outside any
 * partition the journal knows.
 */
export function checkSegments(state: LogState, layout: Layout, files: ReadFiles, mode: CheckMode): StrayDamage[] {
  const stray: StrayDamage[] = []
  for (const topicName of readdirOrEmpty(layout.topicsDir)) {
    const topic = state.topics.get(topicName)
    for (const partName of readdirOrEmpty(join(layout.topicsDir, topicName))) {
      const part = /^\d+$/.test(partName) ? topic?.partitions[Number(partName)] : undefined
      const dir = join(layout.topicsDir, topicName, partName)
      for (const name of readdirOrEmpty(dir)) {
        const m = SEGMENT_FILE.exec(name)
        if (m === null) continue
        const file = join(dir, name)
        if (mode === 'read') continue
        if (part === undefined) {
          stray.push({ file, bytes: fs.statSync(file).size, reason: `belongs to no partition the journal knows (${topicName}-${partName})` })
        } else if (!part.segments.some((s) => s.base === Number(m[1]))) {
          checkUnjournaled(part, file, Number(m[1]), mode, files)
        }
      }
    }
  }
  for (const topic of state.topics.values()) for (const part of topic.partitions) checkPartition(part, mode)
  return stray
}

/** A segment file the journal never mentions: a dead writer's roll, or damage. */
function checkUnjournaled(part: Partition, file: string, base: number, mode: CheckMode, files: ReadFiles): void {
  const size = fs.statSync(file).size
  if (mode === 'crashed' && base === part.end) {
    files.forget(file)
    fs.unlinkSync(file)
    log.warn({ file, bytes: size }, 'unacknowledged segment of a dead writer deleted')
    return
  }
  part.markDamaged(partitionDamage(part, file, 0, size, 'is a segment file the journal never committed: the journal may have lost records'))
}

function checkPartition(part: Partition, mode: CheckMode): void {
  const last = part.segments.length - 1
  for (const [i, seg] of part.segments.entries()) {
    let size: number
    try {
      size = fs.statSync(seg.file).size
    } catch {
      part.markDamaged(partitionDamage(part, seg.file, 0, seg.bytes, `is missing; the journal commits ${seg.bytes} bytes (offsets ${seg.base}..${seg.end - 1})`))
      return
    }
    if (size < seg.bytes) {
      part.markDamaged(partitionDamage(part, seg.file, size, seg.bytes, `is ${size} bytes but ${seg.bytes} are committed`))
      return
    }
    if (size > seg.bytes && mode !== 'read') {
      if (mode === 'crashed' && i === last) {
        fs.truncateSync(seg.file, seg.bytes)
        log.warn({ file: seg.file, bytes: size - seg.bytes }, 'unacknowledged append of a dead writer cut')
      } else {
        const why = i === last ? 'the journal may have lost records, or something else wrote to the file' : 'a segment the log rolled past'
        part.markDamaged(partitionDamage(part, seg.file, seg.bytes, size, `holds bytes past its committed end, in ${why}`))
        return
      }
    }
  }
  verifyLastBatch(part)
}

/** The bytes a crash is most likely to have hurt: the last acknowledged batch of each partition. */
function verifyLastBatch(part: Partition): void {
  const seg = part.segments[part.segments.length - 1]
  if (seg === undefined || seg.bytes === seg.lastBatchFrom) return
  const fd = fs.openSync(seg.file, 'r')
  let chunk: Buffer
  try {
    chunk = readSync(fd, seg.lastBatchFrom, seg.bytes - seg.lastBatchFrom)
  } finally {
    fs.closeSync(fd)
  }
  const src = seg.source(seg.lastBatchFrom)
  const first = chunk.length >= 16 ? readOffset(chunk, 0) : seg.base
  try {
    const r = parseRecords(chunk, 0, chunk.length, src, first, Infinity, Infinity, [])
    if (r.next !== chunk.length || r.nextOffset !== seg.end) {
      throw partitionDamage(part, seg.file, seg.lastBatchFrom + r.next, seg.bytes, `last committed batch ends at offset ${r.nextOffset - 1} where the journal says ${seg.end - 1}`)
    }
  } catch (e) {
    if (!(e instanceof TributaryError)) throw e
    part.markDamaged(e)
  }
}

import fs from 'node:fs'
import { TributaryError } from '../../runtime/errors.ts'
import { corrupt, parseRecords, readOffset } from './codec.ts'
import { join, readdirOrEmpty, readSync, type ReadFiles } from './files.ts'
import { log } from './logger.ts'
import { SEGMENT_FILE, type Layout } from './names.ts'
import type { Partition } from './partition.ts'
import type { LogState } from './state.ts'

/** True when any segment file exists (a log without a journal must not be "recovered" to empty). */
export function hasSegmentFiles(layout: Layout): boolean {
  for (const topic of readdirOrEmpty(layout.topicsDir)) {
    for (const part of readdirOrEmpty(join(layout.topicsDir, topic))) {
      if (readdirOrEmpty(join(layout.topicsDir, topic, part)).some((f) => SEGMENT_FILE.test(f))) return true
    }
  }
  return false
}

/**
 * Makes the segment files match the journal, holding the writer lock (on open, and after taking
 * over a dead writer's lock): bytes past a committed end are a dead writer's unjournaled append and
 * are cut; segment files the journal never mentions are its unjournaled rolls and are deleted. A
 * file shorter than its committed extent, or a last committed batch that fails its checksum, is
 * real damage: TRIB_LOG_CORRUPT.
 */
export function recoverSegments(state: LogState, layout: Layout, files: ReadFiles): void {
  const seen = new Set<string>()
  for (const topicName of readdirOrEmpty(layout.topicsDir)) {
    const topic = state.topics.get(topicName)
    for (const partName of readdirOrEmpty(join(layout.topicsDir, topicName))) {
      const part = /^\d+$/.test(partName) ? topic?.partitions[Number(partName)] : undefined
      const dir = join(layout.topicsDir, topicName, partName)
      for (const name of readdirOrEmpty(dir)) {
        const m = SEGMENT_FILE.exec(name)
        if (m === null) continue
        const file = join(dir, name)
        const size = fs.statSync(file).size
        const seg = part?.segments.find((s) => s.base === Number(m[1]))
        if (seg === undefined) {
          files.forget(file)
          fs.unlinkSync(file)
          log.warn({ file, bytes: size }, 'uncommitted segment deleted')
          continue
        }
        seen.add(file)
        if (size > seg.bytes) {
          fs.truncateSync(file, seg.bytes)
          log.warn({ file, bytes: size - seg.bytes }, 'torn tail truncated')
        } else if (size < seg.bytes) {
          throw missing(file, `is ${size} bytes but ${seg.bytes} are committed`, part!)
        }
      }
    }
  }
  for (const topic of state.topics.values()) {
    for (const part of topic.partitions) {
      for (const seg of part.segments) if (!seen.has(seg.file)) throw missing(seg.file, 'is missing', part)
      verifyLastBatch(part)
    }
  }
}

function missing(file: string, what: string, part: Partition): TributaryError {
  return new TributaryError('TRIB_LOG_CORRUPT', `${file} ${what} (${part.topic}-${part.partition})`, {
    details: { file, topic: part.topic, partition: part.partition },
  })
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
  const r = parseRecords(chunk, 0, chunk.length, src, first, Infinity, Infinity, [])
  if (r.next !== chunk.length || r.nextOffset !== seg.end) {
    throw corrupt(src, r.next, `last committed batch ends at offset ${r.nextOffset - 1}, journal says ${seg.end - 1}`)
  }
}

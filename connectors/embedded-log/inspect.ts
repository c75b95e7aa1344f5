import fs from 'node:fs'
import path from 'node:path'
import type { Finding, Quarantine } from '../../runtime/doctor/report.ts'
import { plural } from '../../runtime/doctor/report.ts'
import { TributaryError } from '../../runtime/errors.ts'
import { readSync } from '../shared/fs.ts'
import { decodeLine, encodeLine } from '../shared/journal.ts'
import { acquireLock, describeHolder, isGone, LockOwner, readHolder, releaseLock } from '../shared/lock.ts'
import { FRAME_HEAD, MAX_FRAME, MIN_FRAME, readFrameLength, readOffset } from './codec.ts'
import { crc32Range } from './crc.ts'
import { ReadFiles, readdirOrEmpty } from './files.ts'
import { isLegacyJournal, legacyJournal } from './legacy-journal.ts'
import { JOURNAL_FILE, journalFileName, layout, SEGMENT_FILE, type Layout } from './names.ts'
import { Partition } from './partition.ts'
import { LogState, malformed, type JournalEntry, type PartitionEntry } from './state.ts'
import { maxOf } from '../../runtime/util/arrays.ts'

/**
 * `tributary doctor` for the embedded log: reads every journal line and every record of every
 * segment (checksums included) without changing anything, says what is intact and what is not,
 * and plans one repair that rebuilds the journal from what is intact:
 * - records intact on disk but missing from a damaged journal are committed again (nothing lost);
 * - a dead writer's unacknowledged append is cut, as the next writer would;
 * - records after a damaged or missing one are cut from the log (kept in the quarantine folder);
 * - group offsets come from the intact journal lines (later commits in damaged lines are lost).
 */

const CHUNK = 1024 * 1024

interface SegmentScan {
  file: string
  base: number
  size: number
  /** Offset after the last intact record. */
  end: number
  /** Bytes of intact records from the file's start. */
  bytes: number
  /** Start of the last intact record. */
  lastFrom: number
  /** Why the intact records stop before the end of the file. */
  damage?: string
  /** The largest schema id a value in the Confluent wire format refers to (0: none). */
  maxSchemaId: number
}

/** The schema id of a value in the Confluent wire format (magic byte 0, 4-byte id), or 0. */
function schemaIdOf(buf: Buffer, at: number, len: number): number {
  const v = at + 28 + Math.max(buf.readInt32BE(at + 24), 0)
  return v + 9 <= at + len && buf.readInt32BE(v) >= 5 && buf[v + 4] === 0 ? buf.readUInt32BE(v + 5) : 0
}

/** Reads one segment file from its start, verifying every record (length, offset, checksum). */
function scanSegment(file: string, base: number): SegmentScan {
  const fd = fs.openSync(file, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const scan: SegmentScan = { file, base, size, end: base, bytes: 0, lastFrom: 0, maxSchemaId: 0 }
    while (scan.bytes < size && scan.damage === undefined) {
      let buf = readSync(fd, scan.bytes, Math.min(CHUNK, size - scan.bytes))
      let at = 0
      while (scan.damage === undefined && at < buf.length) {
        const left = size - scan.bytes
        if (buf.length - at < FRAME_HEAD) {
          if (left >= FRAME_HEAD) break // the next read holds it
          scan.damage = `${left} bytes at the end do not form a record`
          break
        }
        const len = readFrameLength(buf, at)
        if (len < MIN_FRAME || len > MAX_FRAME) scan.damage = `impossible record length ${len}`
        else if (len > left) scan.damage = `a record of ${len} bytes is cut short by the end of the file`
        if (scan.damage !== undefined) break
        if (at + len > buf.length) {
          if (at > 0) break // read on from this record
          buf = readSync(fd, scan.bytes, len)
        }
        if (readOffset(buf, at) !== scan.end) scan.damage = `the record at offset ${scan.end} holds offset ${readOffset(buf, at)}`
        else if (buf.readUInt32BE(at + 4) !== crc32Range(buf, at + FRAME_HEAD, at + len)) scan.damage = `the record of offset ${scan.end} fails its checksum`
        if (scan.damage !== undefined) break
        scan.maxSchemaId = Math.max(scan.maxSchemaId, schemaIdOf(buf, at, len))
        scan.lastFrom = scan.bytes
        scan.bytes += len
        scan.end++
        at += len
      }
    }
    return scan
  } finally {
    fs.closeSync(fd)
  }
}

interface PartitionScan {
  topic: string
  partition: number
  dir: string
  /** Intact segments from offset 0, in order. */
  chain: SegmentScan[]
  /** Offset after the last intact record of the chain. */
  intactEnd: number
  /** Where and why the chain stops early, when it does. */
  damage?: { file: string; position: number; reason: string }
  /** Files (or their tails) after the chain: [file, first byte not kept]. */
  beyond: Array<[file: string, from: number]>
}

function scanPartition(topic: string, partition: number, dir: string): PartitionScan {
  const files = readdirOrEmpty(dir)
    .map((name) => SEGMENT_FILE.exec(name))
    .filter((m) => m !== null)
    .map((m) => ({ file: path.join(dir, m[0]), base: Number(m[1]) }))
    .sort((a, b) => a.base - b.base)
  const scan: PartitionScan = { topic, partition, dir, chain: [], intactEnd: 0, beyond: [] }
  for (const f of files) {
    if (scan.damage !== undefined) {
      scan.beyond.push([f.file, 0])
      continue
    }
    if (f.base !== scan.intactEnd) {
      const reason = f.base > scan.intactEnd ? `offsets ${scan.intactEnd}..${f.base - 1} are in no segment file` : `it starts at offset ${f.base}, inside the previous segment`
      scan.damage = { file: f.file, position: 0, reason }
      scan.beyond.push([f.file, 0])
      continue
    }
    const s = scanSegment(f.file, f.base)
    if (s.bytes > 0) scan.chain.push(s)
    else scan.beyond.push([f.file, 0])
    if (s.bytes > 0 && s.bytes < s.size) scan.beyond.push([f.file, s.bytes])
    scan.intactEnd = s.end
    if (s.damage !== undefined) scan.damage = { file: f.file, position: s.bytes, reason: s.damage }
  }
  return scan
}

interface JournalScan {
  file: string | undefined
  lines: number
  /** Bytes of intact lines before the first damage. */
  intactBytes: number
  size: number
  damaged: Array<{ line: number; from: number; to: number; reason: string }>
  /** An unterminated last line. */
  tail?: { from: number; to: number }
  legacy: boolean
}

/** Applies every intact journal line to a fresh state, noting damaged ones instead of stopping. */
function scanJournal(paths: Layout, state: LogState): JournalScan {
  const seqs = readdirOrEmpty(paths.journalDir)
    .map((n) => JOURNAL_FILE.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
  const newest = seqs.at(-1)
  const scan: JournalScan = { file: undefined, lines: 0, intactBytes: 0, size: 0, damaged: [], legacy: false }
  if (newest === undefined) return scan
  const file = path.join(paths.journalDir, journalFileName(newest))
  const buf = fs.readFileSync(file)
  Object.assign(scan, { file, size: buf.length })
  const apply = (value: unknown, line: number, from: number, to: number): void => {
    try {
      const reason = malformed(value)
      if (reason !== undefined) throw new Error(reason)
      if (line === 1 && (value as JournalEntry).c !== 1) throw new Error('the first line is not a checkpoint')
      state.apply(value as JournalEntry)
      scan.lines++
      if (scan.damaged.length === 0) scan.intactBytes = to
    } catch (e) {
      scan.damaged.push({ line, from, to, reason: `holds an invalid record (${(e as Error).message})` })
    }
  }
  if (isLegacyJournal(file)) {
    scan.legacy = true
    const { entries, end } = legacyJournal(buf)
    entries.forEach((e, i) => apply(e.entry, i + 1, e.position, e.next))
    if (end < buf.length) scan.tail = { from: end, to: buf.length }
    return scan
  }
  let start = 0
  for (let line = 1; start < buf.length; line++) {
    const end = buf.indexOf(0x0a, start)
    if (end < 0) {
      scan.tail = { from: start, to: buf.length }
      break
    }
    const decoded = decodeLine(buf, start, end)
    if ('damage' in decoded) scan.damaged.push({ line, from: start, to: end + 1, reason: decoded.damage })
    else apply(decoded.value, line, start, end + 1)
    start = end + 1
  }
  return scan
}

export interface LogInspection {
  findings: Finding[]
  /** The largest schema id any intact record refers to: ids the registry must never give again. */
  maxSchemaId: number
}

/** Examines the embedded log under `dir` (read-only) and plans its repair. */
export function inspectLog(dir: string, show: (file: string) => string): LogInspection {
  const paths = layout(path.resolve(dir))
  if (!fs.existsSync(paths.root)) return { findings: [], maxSchemaId: 0 }
  const files = new ReadFiles()
  const state = new LogState((topic, p) => new Partition(topic, p, paths.partitionDir(topic, p), files))
  const journal = scanJournal(paths, state)
  const holder = readHolder(paths.writerLock)
  const deadWriter = holder !== undefined && isGone(holder)
  const findings: Finding[] = []
  const journalSound = journal.damaged.length === 0 && (journal.tail === undefined || deadWriter)

  if (journal.file === undefined) {
    findings.push({ part: 'log', subject: show(paths.journalDir), ok: !fs.existsSync(paths.topicsDir) || readdirOrEmpty(paths.topicsDir).length === 0, detail: 'no journal' })
  } else {
    const problems = [
      ...journal.damaged.map((d) => `line ${d.line} (bytes ${d.from}..${d.to}) ${d.reason}`),
      ...(journal.tail === undefined
        ? []
        : [`bytes ${journal.tail.from}..${journal.tail.to} are an unterminated line${deadWriter ? ` (the torn append of ${describeHolder(holder)}, which died holding the lock)` : ' and no writer died holding the lock: the file was cut or damaged'}`]),
    ]
    const intact = `${plural(journal.lines, 'line')} intact${journal.damaged.length === 0 ? ` (bytes 0..${journal.intactBytes})` : `; bytes 0..${journal.intactBytes} before the first damage`}`
    findings.push({
      part: 'log',
      subject: show(journal.file),
      ok: journalSound,
      detail: `${journal.legacy ? 'binary journal of an earlier release; ' : ''}${intact}${problems.length ? `; ${problems.join('; ')}` : ''}`,
    })
  }
  if (holder !== undefined) {
    findings.push({
      part: 'log',
      subject: show(paths.writerLock),
      ok: true,
      detail: deadWriter ? `left by ${describeHolder(holder)}, which died: the next writer cuts its unacknowledged append` : `held by ${describeHolder(holder)} (a writer is running: stop it before --repair)`,
    })
  }

  // Every partition the journal knows, and every partition folder on disk.
  const plans: PartitionPlan[] = []
  const known = new Set<string>()
  for (const topic of state.topics.values()) {
    for (const part of topic.partitions) {
      known.add(`${part.topic}/${part.partition}`)
      plans.push(planPartition(part, scanPartition(part.topic, part.partition, part.dir), deadWriter && journalSound))
    }
  }
  const adopted = new Map<string, number>()
  for (const topicName of readdirOrEmpty(paths.topicsDir)) {
    const dirs = readdirOrEmpty(path.join(paths.topicsDir, topicName)).filter((d) => !known.has(`${topicName}/${d}`))
    for (const d of dirs) {
      const partition = /^\d+$/.test(d) ? Number(d) : -1
      const scan = scanPartition(topicName, partition, path.join(paths.topicsDir, topicName, d))
      if (scan.chain.length === 0 && scan.beyond.length === 0) continue
      const adoptable = !state.topics.has(topicName) && partition >= 0
      if (adoptable) adopted.set(topicName, Math.max(adopted.get(topicName) ?? 0, partition + 1))
      plans.push(planStray(scan, adoptable))
    }
  }
  for (const [topic, count] of adopted) {
    for (let p = 0; p < count; p++) {
      if (!plans.some((x) => x.scan.topic === topic && x.scan.partition === p)) plans.push(planStray(scanPartition(topic, p, paths.partitionDir(topic, p)), true))
    }
  }
  for (const plan of plans) findings.push({ part: 'log', subject: show(plan.scan.dir), ok: plan.ok, detail: plan.detail })

  const damaged = findings.some((f) => !f.ok)
  if (damaged) {
    const losses = plans.filter((p) => p.loses !== undefined).map((p) => `${p.scan.topic}-${p.scan.partition}: ${p.loses}`)
    const groups = [...state.groups.keys()]
    if (!journalSound) {
      losses.push(
        `group offsets committed in damaged journal lines (consumer groups resume from their last intact offsets${groups.length ? ` (${groups.join(', ')})` : ''} or from their start, and may read records again)`,
      )
    }
    const head = findings.find((f) => f.part === 'log' && !f.ok)!
    head.repair = {
      action: `rebuild the journal from ${journal.file === undefined ? 'the segment files' : 'its intact lines and the intact records of every partition'}${adopted.size ? ` (adopting topics ${[...adopted.keys()].join(', ')} found on disk)` : ''}`,
      loses: losses.length > 0 ? losses.join('; ') : 'nothing',
      apply: (quarantine) => repairLog(paths, state, plans, adopted, quarantine),
    }
  }
  files.close()
  return { findings, maxSchemaId: maxOf([0, ...plans.flatMap((p) => p.scan.chain.map((c) => c.maxSchemaId))]) }
}

interface Kept {
  file: string
  base: number
  end: number
  bytes: number
  lastFrom: number
}

interface PartitionPlan {
  scan: PartitionScan
  ok: boolean
  detail: string
  /** The segments (and bytes of each) the repair commits; every other byte of the partition is cut. */
  keep: Kept[]
  /** What the repair cuts from this partition (undefined: nothing). */
  loses?: string
}

const bytesOf = (extents: readonly { bytes: number }[]): number => extents.reduce((n, s) => n + s.bytes, 0)
const sizeOnDisk = (dir: string): number =>
  readdirOrEmpty(dir)
    .filter((n) => SEGMENT_FILE.test(n))
    .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0)

const extentOf = (scan: PartitionScan): string =>
  scan.intactEnd === 0 ? 'no records' : `offsets 0..${scan.intactEnd - 1} intact (${plural(bytesOf(scan.chain), 'byte')} in ${plural(scan.chain.length, 'segment')})`

/** The intact chain, up to `end` (a record boundary the journal knows when inside a segment). */
function keepUpTo(scan: PartitionScan, part: Partition | undefined, end: number): Kept[] {
  const keep: Kept[] = []
  for (const s of scan.chain) {
    if (s.base >= end) break
    if (s.end <= end) keep.push({ file: s.file, base: s.base, end: s.end, bytes: s.bytes, lastFrom: s.lastFrom })
    else {
      const committed = part?.segments.find((c) => c.base === s.base)
      if (committed === undefined || committed.end !== end) throw new TributaryError('TRIB_INTERNAL', `doctor: no record boundary at offset ${end} in ${s.file}`)
      keep.push({ file: s.file, base: s.base, end, bytes: committed.bytes, lastFrom: committed.lastBatchFrom })
    }
  }
  return keep
}

function planPartition(part: Partition, scan: PartitionScan, deadWriter: boolean): PartitionPlan {
  const committed = part.end
  const parts = [extentOf(scan)]
  let ok = true
  let end = scan.intactEnd
  if (scan.intactEnd < committed) {
    ok = false
    const where = scan.damage ? `${scan.damage.file} at byte ${scan.damage.position}: ${scan.damage.reason}` : 'no segment file holds them'
    parts.push(`the journal commits ${plural(committed, 'record')}: offsets ${scan.intactEnd}..${committed - 1} are damaged or missing (${where})`)
  } else if (scan.intactEnd > committed) {
    if (deadWriter) {
      end = committed
      parts.push(`offsets ${committed}..${scan.intactEnd - 1} are the unacknowledged append of a writer that died (the next writer cuts them)`)
    } else {
      ok = false
      parts.push(`the journal commits only ${plural(committed, 'record')}: offsets ${committed}..${scan.intactEnd - 1} are intact on disk but missing from the journal (--repair commits them again)`)
    }
  }
  if (scan.damage !== undefined && scan.intactEnd >= committed) {
    if (!deadWriter) ok = false
    parts.push(`past the intact records, ${path.basename(scan.damage.file)} from byte ${scan.damage.position}: ${scan.damage.reason}${deadWriter ? ' (the torn append of a writer that died)' : ''}`)
  }
  const keep = keepUpTo(scan, part, end)
  const cutBytes = sizeOnDisk(scan.dir) - bytesOf(keep)
  const lost: string[] = []
  if (scan.intactEnd < committed) lost.push(`offsets ${scan.intactEnd}..${committed - 1}, which the journal commits but are damaged or missing`)
  if (end < scan.intactEnd) lost.push(`offsets ${end}..${scan.intactEnd - 1}, never acknowledged`)
  if (cutBytes > 0) lost.push(`${plural(cutBytes, 'byte')} of segment files past offset ${Math.max(end - 1, 0)} (moved to the quarantine folder)`)
  if (cutBytes > 0 && !deadWriter) ok = false
  return { scan, ok, detail: parts.join('; '), keep, loses: lost.length > 0 ? lost.join('; ') : undefined }
}

function planStray(scan: PartitionScan, adoptable: boolean): PartitionPlan {
  const all = sizeOnDisk(scan.dir)
  if (adoptable && scan.chain.length > 0) {
    const keep = keepUpTo(scan, undefined, scan.intactEnd)
    const cut = all - bytesOf(keep)
    return {
      scan,
      ok: false,
      detail: `a partition the journal does not know: ${extentOf(scan)}${scan.damage ? `; then ${scan.damage.reason}` : ''} (--repair adopts it)`,
      keep,
      loses: cut > 0 ? `${plural(cut, 'byte')} past the intact records (moved to the quarantine folder)` : undefined,
    }
  }
  return {
    scan,
    ok: false,
    detail: `${plural(all, 'byte')} of segment files the journal does not know and that form no adoptable partition`,
    keep: [],
    loses: `${plural(all, 'byte')} no partition commits (moved to the quarantine folder)`,
  }
}

/** Cuts what the plans drop (into the quarantine), then writes one checkpoint of what they keep. */
async function repairLog(paths: Layout, state: LogState, plans: PartitionPlan[], adopted: Map<string, number>, quarantine: Quarantine): Promise<void> {
  const owner = new LockOwner(paths.root)
  try {
    await acquireLock(paths.writerLock, owner, {
      timeoutMs: 2_000,
      timeoutError: (holder) =>
        new TributaryError('TRIB_LOG_LOCKED', `${paths.writerLock} is held by ${describeHolder(holder)}: stop every process using the log before repairing it`, {
          details: { file: paths.writerLock },
        }),
    })
    try {
      const p: PartitionEntry[] = []
      const ends = new Map<string, number>()
      for (const plan of plans) {
        const kept = new Map(plan.keep.map((k) => [k.file, k]))
        for (const name of readdirOrEmpty(plan.scan.dir)) {
          if (!SEGMENT_FILE.test(name)) continue
          const file = path.join(plan.scan.dir, name)
          const k = kept.get(file)
          if (k === undefined) quarantine.move(file)
          else if (fs.statSync(file).size > k.bytes) quarantine.cut(file, k.bytes)
        }
        for (const k of plan.keep) p.push([plan.scan.topic, plan.scan.partition, k.base, k.end, k.bytes, k.lastFrom])
        ends.set(`${plan.scan.topic}\u0000${plan.scan.partition}`, plan.keep.at(-1)?.end ?? 0)
      }
      const t: Array<[string, number]> = [...state.topics.values()].map((topic) => [topic.name, topic.partitions.length])
      for (const [topic, count] of adopted) t.push([topic, count])
      const g = state.checkpoint().g!.map(([group, topic, partition, offset]) => [group, topic, partition, Math.min(offset, ends.get(`${topic}\u0000${partition}`) ?? 0)] as [string, string, number, number])
      const old = readdirOrEmpty(paths.journalDir).filter((n) => JOURNAL_FILE.test(n) || n.endsWith('.tmp'))
      const next = maxOf([-1, ...old.map((n) => Number(JOURNAL_FILE.exec(n)?.[1] ?? -1))]) + 1
      fs.mkdirSync(paths.journalDir, { recursive: true })
      const tmp = path.join(paths.journalDir, `${journalFileName(next)}.tmp`)
      fs.writeFileSync(tmp, encodeLine({ c: 1, t, p, g } satisfies JournalEntry))
      for (const n of old) quarantine.move(path.join(paths.journalDir, n))
      fs.renameSync(tmp, path.join(paths.journalDir, journalFileName(next)))
    } finally {
      releaseLock(paths.writerLock, owner)
    }
  } finally {
    owner.dispose()
  }
}

import fs from 'node:fs'
import path from 'node:path'
import type { Finding, Quarantine } from '../../../runtime/doctor/report.ts'
import { plural } from '../../../runtime/doctor/report.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import { fsyncDir } from '../../shared/fs.ts'
import { decodeLine, encodeLine } from '../../shared/journal.ts'
import { acquireLock, describeHolder, isGone, LockOwner, readHolder, releaseLock } from '../../shared/lock.ts'
import { REGISTRY_FILE } from './registry.ts'
import { asEvent, RegistryState } from './state.ts'

/**
 * `tributary doctor` for the embedded registry: every line of its file checked, without changing
 * it. The repair keeps the intact lines in order and drops the damaged ones, then appends a
 * `reserve` event so that no id a dropped line may have given (nor any id the log's records
 * refer to) is ever given again.
 */
export function inspectRegistry(dir: string, show: (file: string) => string, idsInUse: () => number): Finding[] {
  const file = path.join(dir, REGISTRY_FILE)
  if (!fs.existsSync(file)) return []
  const buf = fs.readFileSync(file)
  const state = new RegistryState()
  const intact: Buffer[] = []
  const damaged: string[] = []
  let tail: { from: number; to: number } | undefined
  let start = 0
  for (let line = 1; start < buf.length; line++) {
    const end = buf.indexOf(0x0a, start)
    if (end < 0) {
      tail = { from: start, to: buf.length }
      break
    }
    const decoded = decodeLine(buf, start, end)
    const where = `line ${line} (bytes ${start}..${end + 1})`
    try {
      if ('damage' in decoded) throw new Error(decoded.damage)
      state.apply(asEvent(decoded.value, `${file} ${where}`))
      intact.push(buf.subarray(start, end + 1))
    } catch (e) {
      const text = buf.toString('utf8', Math.min(start + 9, end), Math.min(end, start + 129))
      damaged.push(`${where} ${e instanceof TributaryError ? 'holds an unknown event' : (e as Error).message}: ${JSON.stringify(text)}`)
    }
    start = end + 1
  }
  const lockFile = path.join(dir, 'registry.lock')
  const holder = readHolder(lockFile)
  const deadWriter = holder !== undefined && isGone(holder)
  const tornByDeadWriter = tail !== undefined && deadWriter && damaged.length === 0
  const ok = damaged.length === 0 && (tail === undefined || tornByDeadWriter) && buf.length > 0
  const problems = [...damaged]
  if (buf.length === 0) problems.push('the file is empty: it was cut')
  if (tail !== undefined) problems.push(`bytes ${tail.from}..${tail.to} are an unterminated line${tornByDeadWriter ? ` (the torn append of ${describeHolder(holder)}, which died: the next change cuts it)` : ''}`)
  const finding: Finding = {
    part: 'registry',
    subject: show(file),
    ok,
    detail: `${plural(intact.length, 'line')} intact, ${plural(state.schemas.size, 'schema')} (ids up to ${state.maxId}) in ${plural(state.subjects.size, 'subject')}${problems.length ? `; ${problems.join('; ')}` : ''}`,
  }
  if (!ok) {
    const lost = damaged.length + (tail === undefined ? 0 : 1)
    const reserve = (): number => Math.max(state.maxId + lost, idsInUse())
    finding.repair = {
      action: `keep the ${plural(intact.length, 'intact line')}, drop ${plural(lost, 'damaged line')}, and reserve every id up to ${state.maxId + lost} (and any id the log's records use)`,
      loses: lost === 0 ? 'nothing' : `the events of ${plural(lost, 'damaged line')} (a registration there must be made again; its id is never reused)`,
      apply: (quarantine) => repairRegistry(dir, file, intact, reserve(), quarantine),
    }
  }
  return [finding]
}

async function repairRegistry(dir: string, file: string, intact: Buffer[], reserveId: number, quarantine: Quarantine): Promise<void> {
  const owner = new LockOwner(dir)
  const lockFile = path.join(dir, 'registry.lock')
  try {
    await acquireLock(lockFile, owner, {
      timeoutMs: 2_000,
      timeoutError: (holder) =>
        new TributaryError('TRIB_REGISTRY_UNAVAILABLE', `${lockFile} is held by ${describeHolder(holder)}: stop every process using the registry before repairing it`, {
          details: { file: lockFile },
        }),
    })
    try {
      const tmp = `${file}.repair`
      const header = intact.length === 0 ? [encodeLine({ op: 'init', format: 1 })] : []
      fs.writeFileSync(tmp, Buffer.concat([...header, ...intact, encodeLine({ op: 'reserve', id: reserveId, reason: 'tributary doctor --repair dropped damaged lines' })]))
      const fd = fs.openSync(tmp, 'r')
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      fs.copyFileSync(file, quarantine.pathFor(file))
      fs.renameSync(tmp, file)
      fsyncDir(dir)
    } finally {
      releaseLock(lockFile, owner)
    }
  } finally {
    owner.dispose()
  }
}

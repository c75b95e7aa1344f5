import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { inspectLog } from '../../connectors/embedded-log/inspect.ts'
import { inspectRegistry } from '../../connectors/registry/embedded/inspect.ts'
import type { Config } from '../config/schema.ts'
import { messageOf } from '../errors.ts'
import { inspectLake } from './lake.ts'
import { Quarantine, type Finding } from './report.ts'
import { inspectStateStores } from './state.ts'
import { maxOf, pushAll } from '../util/arrays.ts'

export type { Finding } from './report.ts'

/**
 * `tributary doctor`: examines every part of the data folder (embedded log, embedded registry,
 * state stores, lake tables) without changing anything, says what is intact and what is damaged,
 * and repairs only when asked, after saying what each repair loses. What a repair takes out goes
 * to `<data>/doctor/<time>/`.
 */
export interface DoctorReport {
  dataDir: string
  findings: Finding[]
}

export async function examine(config: Config): Promise<DoctorReport> {
  const dataDir = path.resolve(config.dataDir)
  const show = (file: string): string => {
    const rel = path.relative(dataDir, file)
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel
  }
  const findings: Finding[] = []
  let idsInUse = 0
  if (config.transport.kind === 'embedded') {
    const log = inspectLog(path.join(dataDir, 'log'), show)
    pushAll(findings, log.findings)
    idsInUse = log.maxSchemaId
  }
  if (config.registry.kind === 'embedded') pushAll(findings, inspectRegistry(path.join(dataDir, 'registry'), show, () => idsInUse))
  pushAll(findings, inspectStateStores(path.join(dataDir, 'state'), show))
  if (config.lake.catalog.kind === 'file') {
    const uri = config.lake.uri ?? pathToFileURL(path.join(dataDir, 'lake')).href
    pushAll(findings, await inspectLake(uri, { s3: config.lake.s3, cacheDir: path.join(dataDir, 'lake-cache') }))
  }
  return { dataDir, findings }
}

export interface RepairOutcome {
  finding: Finding
  error?: string
}

/** Applies every repair of the report; each is independent, so one failing does not stop the others. */
export async function repair(report: DoctorReport): Promise<{ quarantine: string; outcomes: RepairOutcome[] }> {
  const quarantine = new Quarantine(report.dataDir)
  const outcomes: RepairOutcome[] = []
  for (const finding of report.findings) {
    if (finding.repair === undefined) continue
    try {
      await finding.repair.apply(quarantine)
      outcomes.push({ finding })
    } catch (e) {
      outcomes.push({ finding, error: messageOf(e) })
    }
  }
  return { quarantine: quarantine.dir, outcomes }
}

/** One line per finding, then each repair with what it loses. */
export function formatReport(report: DoctorReport): string {
  if (report.findings.length === 0) return `${report.dataDir}: nothing to examine (no log, registry, state or lake yet)`
  const width = maxOf(report.findings.map((f) => f.subject.length))
  const lines = report.findings.map((f) => `${f.ok ? 'intact ' : 'DAMAGED'}  ${f.part.padEnd(8)} ${f.subject.padEnd(width)}  ${f.detail}`)
  const repairs = report.findings.filter((f) => f.repair !== undefined)
  if (repairs.length > 0) {
    lines.push('', 'Repairs (tributary doctor --repair):')
    for (const f of repairs) lines.push(`  ${f.part} ${f.subject}: ${f.repair!.action}`, `    loses: ${f.repair!.loses}`)
  }
  return lines.join('\n')
}

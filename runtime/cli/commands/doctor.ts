import { examine, formatReport, repair } from '../../doctor/doctor.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print, printJson } from '../output.ts'

export async function doctor(ctx: CliContext, opts: { repair?: boolean; dryRun?: boolean; format: string }): Promise<void> {
  if (opts.repair && opts.dryRun) throw new TributaryError('TRIB_USAGE', '--repair and --dry-run exclude each other')
  const report = await examine(ctx.config())
  const damaged = report.findings.filter((f) => !f.ok)
  if (opts.format === 'json') printJson(report.findings.map(({ repair: r, ...f }) => ({ ...f, ...(r ? { repair: { action: r.action, loses: r.loses } } : {}) })))
  else print(formatReport(report))
  if (damaged.length === 0) return
  if (!opts.repair) {
    throw new TributaryError('TRIB_DATA_DAMAGED', `${damaged.length} damaged part${damaged.length === 1 ? '' : 's'} in ${report.dataDir}; nothing was changed (run with --repair to apply the repairs listed)`)
  }
  const { quarantine, outcomes } = await repair(report)
  for (const o of outcomes) print(`${o.error === undefined ? 'repaired' : 'FAILED  '} ${o.finding.part} ${o.finding.subject}${o.error ? `: ${o.error}` : ''}`)
  if (outcomes.length > 0) print(`what the repairs took out is in ${quarantine}`)
  const after = (await examine(ctx.config())).findings.filter((f) => !f.ok)
  if (after.length > 0) {
    print(`\nstill damaged:\n${after.map((f) => `  ${f.part} ${f.subject}: ${f.detail}`).join('\n')}`)
    throw new TributaryError('TRIB_DATA_DAMAGED', `${after.length === 1 ? '1 damaged part remains' : `${after.length} damaged parts remain`} after the repairs`)
  }
  print('every part is intact now')
}

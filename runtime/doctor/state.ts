import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { messageOf } from '../errors.ts'
import { plural, type Finding } from './report.ts'
import { packageFile } from '../paths.ts'

/**
 * `tributary doctor` for the products' state stores (`<data>/state/<product>/…`, LMDB): each store
 * is opened read-only and every entry read. Stores are caches of the log (table-mode inputs, the
 * state changelog) and of the lake (the compactor's key index), so the repair of a damaged one
 * moves it aside and the product rebuilds it on its next run.
 */
export function inspectStateStores(stateDir: string, show: (file: string) => string): Finding[] {
  const findings: Finding[] = []
  for (const product of readdir(stateDir)) {
    const productDir = path.join(stateDir, product)
    for (const store of readdir(productDir)) {
      const dir = path.join(productDir, store)
      if (!fs.existsSync(path.join(dir, 'data.mdb'))) continue
      findings.push(inspectStore(dir, show(dir)))
    }
    const policies = path.join(productDir, 'policies.json')
    if (fs.existsSync(policies)) findings.push(inspectPolicies(policies, show(policies)))
  }
  return findings
}

const PROBE = packageFile('runtime/doctor/lmdb-probe.js')

/** Reads the store in a child process: a damaged LMDB file can crash the process reading it. */
function inspectStore(dir: string, subject: string): Finding {
  const probe = spawnSync(process.execPath, [PROBE, dir], { encoding: 'utf8', timeout: 120_000 })
  if (probe.status === 0) {
    const { stores, entries } = JSON.parse(probe.stdout) as { stores: number; entries: number }
    return { part: 'state', subject, ok: true, detail: `${plural(stores, 'store')}, ${plural(entries, 'entry', 'entries')} read` }
  }
  const why = probe.signal ? `reading it crashed the reader (${probe.signal})` : (probe.stderr.split('\n').find((l) => /Error/.test(l)) ?? `the reader exited with ${probe.status}`).trim()
  return {
    part: 'state',
    subject,
    ok: false,
    detail: `cannot be read: ${why}`,
    repair: {
      action: 'move the store aside; the product rebuilds it from its log topics (and the lake) on its next run',
      loses: 'nothing that the log does not hold (a rebuild takes time)',
      apply: (quarantine) => void quarantine.move(dir),
    },
  }
}

function inspectPolicies(file: string, subject: string): Finding {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object')
    return { part: 'state', subject, ok: true, detail: `PII policies of ${plural(Object.keys(parsed).length, 'port')}` }
  } catch (e) {
    return {
      part: 'state',
      subject,
      ok: false,
      detail: `is not valid JSON (${messageOf(e)}); the policies set through the control port are unreadable`,
      repair: {
        action: 'move the file aside: the product falls back to the policies of its spec',
        loses: 'the policies set through the control port since the spec (set them again)',
        apply: (quarantine) => void quarantine.move(file),
      },
    }
  }
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort()
  } catch {
    return []
  }
}

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../helpers/runtime.ts'
import { tierDir, tiers, type Tier } from '../../tiers.ts'

/** The tiers as test/tiers.ts declares them, the npm scripts that run them, and the tools script. */

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
const testFiles = (fs.readdirSync(path.join(repoRoot, 'test'), { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts'))

describe('test tiers', () => {
  it('every test file lives in a tier’s folder, so that some project runs it', () => {
    const outside = testFiles.filter((f) => !Object.keys(tiers).includes(f.split(path.sep)[0]!))
    expect(outside).toEqual([])
    for (const [name, tier] of Object.entries(tiers as Record<string, Tier>)) expect(testFiles.some((f) => f.startsWith(`${tierDir(name, tier)}${path.sep}`)), name).toBe(true)
  })

  it('a tier that runs another tier’s folder names a tier’s folder', () => {
    for (const [name, tier] of Object.entries(tiers as Record<string, Tier>)) expect(Object.keys(tiers), name).toContain(tierDir(name, tier))
  })

  it('each tier has its npm script, and npm test runs the type check, the codegen check and every tier', () => {
    for (const tier of Object.keys(tiers)) expect(pkg.scripts[`test:${tier}`], tier).toMatch(new RegExp(`vitest run --config test/vitest.config.ts --project ${tier}$`))
    const test = pkg.scripts.test!
    expect(test).toMatch(/npm run typecheck/)
    expect(test).toMatch(/npm run codegen:check/)
    expect(test).toMatch(/vitest run --config test\/vitest.config.ts$/)
  })

  it('tools.sh plans the Debian package of each missing command, and nothing for a present one', () => {
    // A PATH holding only what the script itself runs: every tool is missing there.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-path-'))
    try {
      for (const cmd of ['bash', 'dirname', 'id']) fs.symlinkSync(spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim(), path.join(bin, cmd))
      const plan = (env: NodeJS.ProcessEnv, ...tools: string[]) => spawnSync('bash', [path.join(repoRoot, 'test/infra/tools.sh'), 'plan', ...tools], { encoding: 'utf8', env })
      expect(plan({ PATH: bin }, 'kcat', 'promtool', 'docker-compose', 'psql').stdout.split('\n').filter(Boolean)).toEqual(['kcat', 'prometheus', 'docker-compose', 'postgresql-client'])
      const unknown = plan({ PATH: bin }, 'no-such-tool')
      expect(unknown.status).not.toBe(0)
      expect(unknown.stderr).toMatch(/no Debian package known for the command 'no-such-tool'/)
      fs.writeFileSync(path.join(bin, 'kcat'), '#!/bin/sh\n', { mode: 0o755 })
      expect(plan({ PATH: bin }, 'kcat').stdout).toBe('')
    } finally {
      fs.rmSync(bin, { recursive: true, force: true })
    }
  })
})

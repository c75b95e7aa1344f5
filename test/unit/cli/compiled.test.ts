import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../../helpers/runtime.ts'

/**
 * The compiled CLI (runtime/cli/compiled.js) is a cache of the sources, never run stale: in a copy
 * of the package, the first command builds it, a second reuses it, and after a source changes the
 * next command runs the changed code (a new build); parallel first runs publish one build.
 */
const copy = tempDir('trib-compiled-')
const bin = path.join(copy, 'runtime/cli/bin.js')
const dist = path.join(copy, 'dist/cli')
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, VITEST: '' } })
const builds = () => fs.readdirSync(dist).filter((f) => f !== 'current.json').sort()

beforeAll(() => {
  for (const dir of ['runtime', 'connectors', 'products', 'schemas']) fs.cpSync(path.join(repoRoot, dir), path.join(copy, dir), { recursive: true })
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(copy, 'package.json'))
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'))
})
afterAll(() => fs.rmSync(copy, { recursive: true, force: true }))

describe('the compiled CLI', () => {
  it('is built on first use, reused while the sources are unchanged, and rebuilt when one changes', () => {
    const first = cli(['spec-schema'])
    expect(first.status, first.stderr).toBe(0)
    expect((JSON.parse(first.stdout) as { title: string }).title).toBe('Tributary data product spec')
    const [built] = builds()
    expect(builds()).toHaveLength(1)
    expect(fs.existsSync(path.join(dist, built!, 'commands/spec.js'))).toBe(true)

    const again = cli(['spec-schema'])
    expect(again.stdout).toBe(first.stdout)
    expect(builds()).toEqual([built])

    // New mtimes with the same content (as an install from a tarball gives): still that build.
    const old = new Date('1985-10-26T08:15:00Z')
    for (const f of ['runtime/spec/schema.ts', 'runtime/cli/run.ts']) fs.utimesSync(path.join(copy, f), old, old)
    expect(cli(['spec-schema']).stdout).toBe(first.stdout)
    expect(builds()).toEqual([built])

    // A change to a module the command imports (not the command's own file) reaches the next run.
    const schemaFile = path.join(copy, 'runtime/spec/schema.ts')
    const text = fs.readFileSync(schemaFile, 'utf8')
    expect(text).toContain("'Tributary data product spec'")
    fs.writeFileSync(schemaFile, text.replace("'Tributary data product spec'", "'Tributary data product spec, edited'"))
    const edited = cli(['spec-schema'])
    expect(edited.status, edited.stderr).toBe(0)
    expect((JSON.parse(edited.stdout) as { title: string }).title).toBe('Tributary data product spec, edited')
    expect(builds()).toHaveLength(2)
    expect((JSON.parse(fs.readFileSync(path.join(dist, 'current.json'), 'utf8')) as { dir: string }).dir).not.toBe(built)
  }, 120_000)

  it('publishes one build when parallel first runs race', async () => {
    fs.rmSync(dist, { recursive: true, force: true })
    const { spawn } = await import('node:child_process')
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, [bin, 'spec-schema'], { cwd: copy, env: { ...process.env, VITEST: '' } })
          let out = ''
          child.stdout.on('data', (d: Buffer) => (out += d.toString()))
          child.on('exit', (code) => resolve({ code, out }))
        }),
      ),
    )
    for (const r of runs) {
      expect(r.code).toBe(0)
      expect((JSON.parse(r.out) as { title: string }).title).toMatch(/^Tributary data product spec/)
    }
    expect(builds()).toHaveLength(1)
    expect(fs.readdirSync(dist).filter((f) => f.startsWith('.build-'))).toEqual([])
  }, 120_000)
})

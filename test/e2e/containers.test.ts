import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { compose, composeFile, envOf, onHost, products, type Service } from '../helpers/compose.ts'
import { repoRoot } from '../helpers/runtime.ts'

/**
 * The container files checked by running things, with no container engine: the Compose client
 * validates docker-compose.yml against its schema, and the commands the containers run work on
 * this tree as they are written. (What reading the files can check: test/unit/containers.)
 */

const scratch: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-compose-'))
  scratch.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true })
})

/** The environment a container would have, for running its commands here (state in a temp dir). */
const hostEnv = (s: Service): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...Object.fromEntries(Object.entries(envOf(s)).map(([k, v]) => [k, onHost(v)])),
  TRIBUTARY_DATA_DIR: tempDir(),
  TRIBUTARY_LOG_LEVEL: 'warn',
})

describe('docker-compose.yml', () => {
  it('passes `docker compose config` (the Compose schema; no engine needed)', () => {
    const candidates: Array<[string, string[]]> = [
      ['docker', ['compose', '-f', composeFile, 'config', '-q']],
      ['docker-compose', ['-f', composeFile, 'config', '-q']],
    ]
    const usable = candidates.find(([bin, args]) => spawnSync(bin, [...args.slice(0, args.indexOf('-f')), 'version'], { stdio: 'ignore' }).status === 0)
    expect(usable, 'neither `docker compose` nor `docker-compose` is installed, and the set-up could not install it (test/infra/tools.sh ensure docker-compose says why)').toBeDefined()
    const [bin, args] = usable!
    const run = spawnSync(bin, args, { encoding: 'utf8', cwd: repoRoot })
    expect(run.stderr + run.stdout, `${bin} ${args.join(' ')}`).toBe('')
    expect(run.status).toBe(0)
  })
})

describe('commands the containers run, on this tree', () => {
  const cli = path.join(repoRoot, 'runtime/cli/bin.js')

  it("the image's health check and `validate` pass with each product service's environment", () => {
    for (const [name, s] of products) {
      const env = hostEnv(s)
      const printed = JSON.parse(execFileSync('node', [cli, 'config', '--print'], { env, cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })) as {
        registry: { kind: string }
        products: string[]
      }
      expect(printed.registry.kind, name).toBe('confluent')
      expect(printed.products, name).toEqual([onHost(envOf(s).TRIBUTARY_PRODUCTS!)])
      const validated = JSON.parse(execFileSync('node', [cli, 'validate', '--format', 'json'], { env, cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })) as Array<{
        product: string
        ok: boolean
      }>
      expect(validated, name).toEqual([expect.objectContaining({ product: name, ok: true })])
    }
  })

  it('the sample-data loader feeds the input topics (here on the embedded backends)', () => {
    const s = compose.services['sample-data']!
    const [bin, ...args] = [...[s.entrypoint ?? []].flat(), ...[s.command ?? []].flat()].map(onHost)
    expect(bin).toBe('node')
    // Same script, embedded backends: the production ones need the servers the compose file starts.
    const env = Object.fromEntries(Object.entries(hostEnv(s)).filter(([k]) => !/^TRIBUTARY_(TRANSPORT|REGISTRY|LAKE_URI|S3_|KAFKA_)/.test(k)))
    const out = execFileSync('node', args, { env, cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { records: Record<string, number> }
    expect(summary.records['registration.public.users']).toBeGreaterThan(100)
    expect(summary.records['podcast.plays']).toBeGreaterThan(1000)
    const topics = fs.readdirSync(path.join(env.TRIBUTARY_DATA_DIR!), { recursive: true }).map(String)
    expect(topics.some((t) => t.includes('registration.public.users')), topics.slice(0, 20).join(' ')).toBe(true)
  })
})

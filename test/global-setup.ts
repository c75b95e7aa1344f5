import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { isTier, tiers, type Need, type Tool } from './tiers.ts'

/**
 * Provides what a tier needs (tiers.ts) before its files run: vitest calls this once per project
 * that has files to run, all before the first test, and the teardowns after the last one.
 * Idempotent: servers already running (npm run infra:up, another tier of this run) are used and
 * left running; a server this tier started is stopped at the end of the run, so nothing stray
 * remains. Missing Debian tools are installed (test/infra/tools.sh).
 */
const root = path.resolve(import.meta.dirname, '..')
const script = (name: string) => (...args: string[]): string =>
  execFileSync('bash', [path.join(root, 'test/infra', name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
const infra = script('infra.sh')
const cdc = script('cdc.sh')
const running = (status: string, server: string): boolean => new RegExp(`^${server}:\\s+running`, 'm').test(status)

const servers = ['kafka', 's3'] as const
const tools: readonly Tool[] = ['kcat', 'promtool', 'docker-compose']

/** Provides `needs`; returns the teardown that stops what this call started. */
export function provide(needs: readonly Need[], label = 'tests'): () => void {
  const stops: Array<() => void> = []
  const teardown = (): void => {
    for (const stop of stops.splice(0).reverse()) stop()
  }
  try {
    const wanted = servers.filter((s) => needs.includes(s))
    if (wanted.length > 0) {
      const before = infra('status')
      for (const server of wanted) {
        if (running(before, server)) continue
        process.stderr.write(infra('up', server))
        stops.push(() => void infra('down', server))
      }
    }
    if (needs.includes('cdc')) {
      // Started lazily by the tests that use it; stopped (before the broker it writes to) if they did.
      const before = cdc('status')
      stops.push(() => {
        const now = cdc('status')
        for (const server of ['connect', 'postgres'] as const) if (running(now, server) && !running(before, server)) cdc('down', server)
      })
    }
    const wantedTools = tools.filter((t) => needs.includes(t))
    if (wantedTools.length > 0) {
      // A tool that cannot be installed here fails the tests that call it, naming it; the others run.
      try {
        script('tools.sh')('ensure', ...wantedTools)
      } catch (e) {
        process.stderr.write(`[${label}] could not install ${wantedTools.join(', ')}: ${(e as Error).message}\n`)
      }
    }
    if (needs.includes('python')) execFileSync('bash', [path.join(root, 'test/infra/python-venv.sh')], { stdio: ['ignore', 'ignore', 'inherit'] })
  } catch (e) {
    // A server this call started must not outlive a failed set-up.
    teardown()
    throw e
  }
  return teardown
}

export default function setup(project: TestProject): () => void {
  if (!isTier(project.name)) throw new Error(`vitest project ${project.name} is not a tier of test/tiers.ts`)
  return provide(tiers[project.name].needs, project.name)
}

import { execFileSync } from 'node:child_process'
import path from 'node:path'

/**
 * Real servers for the suite: Kafka (KRaft) and the S3-compatible server via test/infra/infra.sh,
 * and the Python readers' venv. Idempotent: servers already running (npm run infra:up) are used
 * and left running; servers this run started are stopped at the end, so nothing stray remains.
 * The CDC source (PostgreSQL, Kafka Connect: test/infra/cdc.sh) is started lazily by the tests
 * that need it (test/integration/cdc-support.ts); what was not running before this run is stopped.
 */
const root = path.resolve(import.meta.dirname, '..')
const infra = (...args: string[]): string =>
  execFileSync('bash', [path.join(root, 'test/infra/infra.sh'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

const cdc = (...args: string[]): string =>
  execFileSync('bash', [path.join(root, 'test/infra/cdc.sh'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

export default function setup(): () => void {
  const before = infra('status')
  const started = (['kafka', 's3'] as const).filter((server) => !new RegExp(`${server}:\\s+running`).test(before))
  const cdcBefore = cdc('status')
  const teardown = (): void => {
    // Stopped before the broker it writes to.
    const cdcNow = cdc('status')
    for (const server of ['connect', 'postgres'] as const)
      if (new RegExp(`${server}:\\s+running`).test(cdcNow) && !new RegExp(`${server}:\\s+running`).test(cdcBefore)) cdc('down', server)
    for (const server of started) infra('down', server)
  }
  try {
    process.stderr.write(infra('up'))
    execFileSync('bash', [path.join(root, 'test/infra/python-venv.sh')], { stdio: ['ignore', 'ignore', 'inherit'] })
  } catch (e) {
    // A server this run started must not outlive a failed set-up (down of a stopped one is a no-op).
    teardown()
    throw e
  }
  return teardown
}

/**
 * The test tiers, each a folder under test/ and a vitest project (`npm run test:<tier>`), with
 * what it needs. The global set-up (global-setup.ts) provides a tier's needs before its files
 * run, so a tier starts only what it uses, and `npm test` (every tier in one run) starts each
 * server once and stops, at the end, what it started.
 */

/** A Debian command the tests call, installed when missing (test/infra/tools.sh). */
export type Tool = 'kcat' | 'promtool' | 'docker-compose'

export type Need =
  /** The shared broker (test/infra/infra.sh); its jars also serve the private brokers of restart tests. */
  | 'kafka'
  /** The S3-compatible server (moto). */
  | 's3'
  /** The Python readers' venv (test/infra/python-venv.sh). */
  | 'python'
  /**
   * PostgreSQL and Kafka Connect, started by the first test that asks (test/integration/cdc-support.ts):
   * the set-up only stops them at the end when this run started them.
   */
  | 'cdc'
  | Tool

export interface Tier {
  needs: readonly Need[]
  /** Runs after every other tier (vitest's sequence.groupOrder): suites that kill processes and measure recovery. */
  last?: boolean
  /**
   * Another tier's folder, for a tier that runs that tier's files once more in another setting
   * (`env`); by default a tier runs test/<its name>.
   */
  dir?: string
  /** Environment variables its files run with. */
  env?: Readonly<Record<string, string>>
}

/** The folder under test/ whose files a tier runs. */
export const tierDir = (name: string, tier: Tier): string => tier.dir ?? name

export const tiers = {
  /** Pure logic and the embedded parts in one process (or children of it): no server, no network. */
  unit: { needs: [] },
  /**
   * One suite per port (Log, registry, storage, catalog), run against every adapter. The REST
   * catalog suite starts Apache Iceberg's REST catalog server itself, on first use
   * (test/integration/iceberg-rest-fixture.ts).
   */
  contract: { needs: ['kafka', 's3'] },
  /** Real servers: Kafka (and private brokers), S3, the registry over HTTP. */
  integration: { needs: ['kafka', 's3', 'python', 'kcat'] },
  /** Third-party readers and writers (pyiceberg, DuckDB, confluent-kafka) against what we write. */
  interop: { needs: ['python'] },
  /** The CLI, the container's HTTP ports and the example mesh, as a user runs them. */
  e2e: { needs: ['python', 'promtool', 'docker-compose'] },
  /**
   * The end-to-end files once more with every codec fast path off: the reference paths must give
   * the same outputs and dead letters (runtime/codec/VALUES.md, "Fast paths").
   */
  'e2e-reference': {
    dir: 'e2e',
    needs: ['python', 'promtool', 'docker-compose'],
    env: { TRIBUTARY_FAST_PATHS: 'off' },
  },
  /**
   * Process-killing and chaos suites: slow, timing-sensitive, run once, after the others. The CDC
   * source (PostgreSQL → Debezium, SIGKILL mid-burst) and a product's migration to a new major
   * (SIGKILL mid-backfill) are among them.
   */
  fault: { needs: ['kafka', 'python', 'cdc'], last: true },
} as const satisfies Record<string, Tier>

export type TierName = keyof typeof tiers

export const isTier = (name: string): name is TierName => Object.hasOwn(tiers, name)

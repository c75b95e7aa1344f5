import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '../helpers/runtime.ts'

/**
 * The real CDC source of the integration tests: PostgreSQL and Kafka Connect with the Debezium
 * connector, started on first use by test/infra/cdc.sh (idempotent; the global set-up stops them
 * at the end of a run that started them). Ports come from the state file the script writes.
 */
export interface CdcServers {
  postgres: { host: string; port: number; user: string }
  connect: { url: string }
  kafka: string
}

let servers: CdcServers | undefined

export function cdcServers(): CdcServers {
  if (servers) return servers
  // Cold, this installs PostgreSQL (apt) and fetches the Connect and Debezium jars (Maven).
  execFileSync('bash', [path.join(repoRoot, 'test/infra/cdc.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 20 * 60_000 })
  const state = JSON.parse(fs.readFileSync(path.join(repoRoot, '.cache/cdc/state.json'), 'utf8')) as {
    postgres: { host: string; port: number; user: string }
    connect: { port: number }
    kafka: string
  }
  servers = { postgres: state.postgres, connect: { url: `http://127.0.0.1:${state.connect.port}` }, kafka: state.kafka }
  return servers
}

const execFileAsync = promisify(execFile)

/** Runs SQL with psql (ON_ERROR_STOP) and returns what it prints, unaligned and tuples only. */
export async function psql(sql: string): Promise<string> {
  const { postgres } = cdcServers()
  const child = execFileAsync('psql', ['-h', postgres.host, '-p', String(postgres.port), '-U', postgres.user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-At', '-f', '-'], {
    maxBuffer: 256 * 2 ** 20,
    env: { ...process.env, PGCLIENTENCODING: 'UTF8' },
  })
  child.child.stdin!.end(sql)
  return (await child).stdout
}

async function connectRequest(method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${cdcServers().connect.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (!response.ok && response.status !== 404) throw new Error(`Kafka Connect ${method} ${route}: ${response.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

/** What a test asks of its Debezium connector; everything else is the connector's default. */
export interface ConnectorSpec {
  name: string
  /** Tables as `schema.table`. */
  tables: string[]
  topicPrefix: string
  /** JsonConverter's `{schema, payload}` wrapper on keys and values. */
  wrapper: boolean
  extra?: Record<string, string>
}

/** Creates a Debezium PostgreSQL connector (its own slot and publication) and waits until its task runs. */
export async function createConnector(spec: ConnectorSpec): Promise<void> {
  const { postgres } = cdcServers()
  const slot = spec.name.replace(/[^a-z0-9_]/g, '_')
  const config: Record<string, string> = {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'plugin.name': 'pgoutput',
    'database.hostname': postgres.host,
    'database.port': String(postgres.port),
    'database.user': postgres.user,
    'database.password': 'unused',
    'database.dbname': 'postgres',
    'topic.prefix': spec.topicPrefix,
    'table.include.list': spec.tables.join(','),
    'slot.name': slot,
    'slot.drop.on.stop': 'true',
    'publication.name': slot,
    'publication.autocreate.mode': 'filtered',
    // Debezium skips truncates unless told otherwise.
    'skipped.operations': 'none',
    // One partition per table topic: a truncate (keyless) stays ordered with the row changes.
    'topic.creation.default.partitions': '1',
    'topic.creation.default.replication.factor': '1',
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable': String(spec.wrapper),
    'value.converter.schemas.enable': String(spec.wrapper),
    ...spec.extra,
  }
  await connectRequest('POST', '/connectors', { name: spec.name, config })
  const deadline = Date.now() + 60_000
  for (;;) {
    const status = (await connectRequest('GET', `/connectors/${spec.name}/status`)) as { connector?: { state: string }; tasks?: Array<{ state: string; trace?: string }> } | undefined
    const task = status?.tasks?.[0]
    if (task?.state === 'FAILED') throw new Error(`connector ${spec.name} failed: ${task.trace?.slice(0, 2000)}`)
    if (status?.connector?.state === 'RUNNING' && task?.state === 'RUNNING') return
    if (Date.now() > deadline) throw new Error(`connector ${spec.name} not running after 60 s: ${JSON.stringify(status)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Deletes the connector (its slot is dropped as it stops) and the publication it created. */
export async function deleteConnector(name: string): Promise<void> {
  await connectRequest('DELETE', `/connectors/${name}`)
  const slot = name.replace(/[^a-z0-9_]/g, '_')
  // The slot goes once the task has stopped; a still-active slot cannot be dropped, so wait.
  for (let i = 0; i < 60; i++) {
    const active = await psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`)
    if (active.trim() === '0') break
    await new Promise((r) => setTimeout(r, 500))
  }
  await psql(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}';
DROP PUBLICATION IF EXISTS ${slot};`)
}

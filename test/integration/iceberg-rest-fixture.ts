import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { freePort, repoRoot, tempDir } from '../helpers/runtime.ts'

/**
 * A third-party Iceberg REST catalog: Apache Iceberg's RESTCatalogServer (Java, the server of the
 * apache/iceberg-rest-fixture image) over a JDBC catalog in SQLite, with its warehouse in a
 * temporary folder. Jars come from Maven Central through test/infra/iceberg-rest.sh (cached in
 * .cache/iceberg-rest). Each call starts a server of its own on a free loopback port; `stop` ends
 * it (by its process id) and removes the warehouse.
 */
export interface IcebergRestFixture {
  uri: string
  warehouse: string
  stop(): Promise<void>
}

export async function startIcebergRestFixture(): Promise<IcebergRestFixture> {
  const libs = execFileSync('bash', [path.join(repoRoot, 'test/infra/iceberg-rest.sh')], { encoding: 'utf8', timeout: 15 * 60_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  const port = await freePort()
  const dir = tempDir('trib-iceberg-rest-')
  const warehouse = `file://${dir}`
  const child = spawn('java', ['-cp', `${libs}/*`, 'org.apache.iceberg.rest.RESTCatalogServer'], {
    env: {
      ...process.env,
      CATALOG_WAREHOUSE: warehouse,
      // One connection: an in-memory SQLite database is per connection.
      CATALOG_URI: 'jdbc:sqlite::memory:',
      CATALOG_CLIENTS: '1',
      CATALOG_REST_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const uri = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
    await exited
    fs.rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) break
    if (await fetch(`${uri}/v1/config`).then((r) => r.ok, () => false)) return { uri, warehouse, stop }
    await new Promise((r) => setTimeout(r, 100))
  }
  await stop()
  throw new Error(`the Iceberg REST catalog did not start on port ${port}: ${output.slice(-3000)}`)
}

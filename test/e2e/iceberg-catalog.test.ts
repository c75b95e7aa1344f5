import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { profilesAccess, restrictedUserProfiles } from '../helpers/access.ts'
import { freePort, repoRoot, tempDir } from '../helpers/runtime.ts'
import { canonicalRows, restCatalogClient, type Row } from '../interop/python.ts'
import { stopChild, waitFor } from '../helpers/processes.ts'

/**
 * The Iceberg REST catalog over real sockets, as the CLI serves it: under /iceberg in the product
 * container (`tributary serve`) and alone (`tributary catalog serve`). Every route with no
 * credential, a wrong one, a principal without the right and one with it; every write of the
 * protocol refused in its error shape; the audit; pyiceberg and DuckDB with a bearer token reading
 * the restricted table its owners may read.
 */

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const secrets = { admin: 'admin-token-iceberg-test-0001', owner: 'owner-token-iceberg-test-0002', analyst: 'analyst-token-iceberg-test-03', outsider: 'outsider-token-iceberg-test04' }
const as = {
  none: {},
  wrong: { authorization: 'Bearer not-a-token-of-anybody-0000' },
  admin: { authorization: `Bearer ${secrets.admin}` },
  owner: { authorization: `Bearer ${secrets.owner}` },
  analyst: { authorization: `Bearer ${secrets.analyst}` },
  outsider: { authorization: `Bearer ${secrets.outsider}` },
} satisfies Record<string, Record<string, string>>
type Who = keyof typeof as

const root = tempDir('trib-iceberg-e2e-')
const dataDir = path.join(root, 'data')
const configFile = path.join(root, 'tributary.yaml')
const env = { ...process.env, TRIBUTARY_CONFIG: configFile, TRIBUTARY_LOG_LEVEL: 'info' }
const seen: string[] = []

/** Every write of the protocol (views too): each is refused, for everyone. */
const writes: Array<[string, string]> = [
  ['POST', '/v1/namespaces'],
  ['DELETE', '/v1/namespaces/user-profiles'],
  ['POST', '/v1/namespaces/user-profiles/properties'],
  ['POST', '/v1/namespaces/user-profiles/tables'],
  ['POST', '/v1/namespaces/user-profiles/register'],
  ['POST', '/v1/namespaces/user-profiles/tables/profiles'],
  ['DELETE', '/v1/namespaces/user-profiles/tables/profiles'],
  ['POST', '/v1/tables/rename'],
  ['POST', '/v1/transactions/commit'],
  ['POST', '/v1/namespaces/user-profiles/views'],
  ['POST', '/v1/namespaces/user-profiles/views/v'],
  ['DELETE', '/v1/namespaces/user-profiles/views/v'],
  ['POST', '/v1/views/rename'],
  ['POST', '/v1/namespaces/user-profiles/register-view'],
]

async function call(base: string, method: string, route: string, who: Who, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${base}${route}`, { method, headers: { 'content-type': 'application/json', ...as[who] }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  seen.push(JSON.stringify([...res.headers]), text)
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // empty (HEAD, 204) or Prometheus text
  }
  return { status: res.status, headers: res.headers, body: parsed }
}

const icebergError = (status: number, type: string) => ({ error: { message: expect.any(String), type, code: status } })

function spawnCli(args: string[], logs: { text: string }): ChildProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => (logs.text += c.toString()))
  return child
}
const stop = stopChild
/** The checks both servers pass; `base` is the catalog URI (…/iceberg). */
async function catalogChecks(base: string): Promise<void> {
  const config = await call(base, 'GET', '/v1/config', 'none')
  expect(config.status).toBe(200)
  expect(config.body).toEqual({ defaults: {}, overrides: {}, endpoints: expect.arrayContaining(['GET /v1/{prefix}/namespaces/{namespace}/tables/{table}']) })
  expect(config.body.endpoints.filter((e: string) => !e.startsWith('GET ') && !e.startsWith('HEAD ')), 'only reads and metrics').toEqual(['POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics'])

  expect((await call(base, 'GET', '/v1/namespaces', 'none')).body).toEqual({ namespaces: [['user-profiles']] })
  expect((await call(base, 'GET', '/v1/namespaces/user-profiles', 'none')).body).toMatchObject({ namespace: ['user-profiles'], properties: { owner: 'user-management', domain: 'users' } })
  expect((await call(base, 'HEAD', '/v1/namespaces/user-profiles', 'none')).status).toBe(204)
  expect((await call(base, 'HEAD', '/v1/namespaces/nope', 'none')).status).toBe(404)
  expect(await call(base, 'GET', '/v1/namespaces/nope/tables', 'none')).toMatchObject({ status: 404, body: icebergError(404, 'NoSuchNamespaceException') })

  // A restricted table is listed only for those who may read it, in clear.
  const listed = async (who: Who) => ((await call(base, 'GET', '/v1/namespaces/user-profiles/tables', who)).body.identifiers as Array<{ name: string }>).map((i) => i.name)
  expect(await listed('none')).toEqual([])
  expect(await listed('outsider')).toEqual([])
  expect(await listed('analyst')).toEqual([]) // reads profiles only through a reader policy; not the dlq
  expect(await listed('owner')).toEqual(['dlq', 'profiles'])

  for (const method of ['GET', 'HEAD']) {
    const table = '/v1/namespaces/user-profiles/tables/profiles'
    const none = await call(base, method, table, 'none')
    expect(none.status, `${method} anonymous`).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer realm="tributary"/)
    expect((await call(base, method, table, 'wrong')).status, `${method} wrong token`).toBe(401)
    expect((await call(base, method, table, 'outsider')).status, `${method} outsider`).toBe(403)
    expect((await call(base, method, table, 'analyst')).status, `${method} analyst`).toBe(403)
    expect((await call(base, method, table, 'owner')).status, `${method} owner`).toBe(method === 'GET' ? 200 : 204)
  }
  expect(await call(base, 'GET', '/v1/namespaces/user-profiles/tables/profiles', 'none')).toMatchObject({ body: icebergError(401, 'NotAuthorizedException') })
  expect(await call(base, 'GET', '/v1/namespaces/user-profiles/tables/profiles', 'outsider')).toMatchObject({ body: icebergError(403, 'ForbiddenException') })
  expect((await call(base, 'GET', '/v1/namespaces/user-profiles/tables/profiles', 'analyst')).body.error.message).toMatch(/reader policy \(email, display_name, city\)/)
  expect(await call(base, 'GET', '/v1/namespaces/user-profiles/tables/nope', 'owner')).toMatchObject({ status: 404, body: icebergError(404, 'NoSuchTableException') })

  const loaded = await call(base, 'GET', '/v1/namespaces/user-profiles/tables/profiles', 'owner')
  expect(loaded.body['metadata-location']).toMatch(/^file:\/\/.*\/user-profiles\/profiles\/metadata\/v\d+\.metadata\.json$/)
  expect(loaded.body.metadata).toMatchObject({ 'format-version': 2, refs: { main: { type: 'branch' } } })
  expect(loaded.body.config).toEqual({})
  // The metadata is the file's own.
  expect(loaded.body.metadata).toEqual(JSON.parse(fs.readFileSync(new URL(loaded.body['metadata-location']), 'utf8')))
  const etag = loaded.headers.get('etag')!
  expect((await fetch(`${base}/v1/namespaces/user-profiles/tables/profiles`, { headers: { ...as.owner, 'if-none-match': etag } })).status).toBe(304)

  expect((await call(base, 'POST', '/v1/namespaces/user-profiles/tables/profiles/metrics', 'owner', { 'report-type': 'scan-report' })).status).toBe(204)
  expect((await call(base, 'POST', '/v1/namespaces/user-profiles/tables/profiles/metrics', 'none', { 'report-type': 'scan-report' })).status).toBe(401)

  for (const [method, route] of writes) {
    for (const who of ['none', 'admin', 'owner'] as const) {
      const answer = await call(base, method, route, who, {})
      expect(answer.status, `${method} ${route} as ${who}`).toBe(403)
      expect(answer.body, `${method} ${route} as ${who}`).toEqual(icebergError(403, 'ForbiddenException'))
      expect(answer.body.error.message).toMatch(/Tributary is the only writer of its tables/)
    }
  }
}

beforeAll(async () => {
  const product = restrictedUserProfiles(path.join(root, 'products'), profilesAccess)
  fs.writeFileSync(
    configFile,
    `dataDir: ${JSON.stringify(dataDir)}
products: [${JSON.stringify(product)}]
schemaDirs: [${JSON.stringify(path.join(repoRoot, 'schemas'))}]
access:
  principals:
    admin: { token: ${secrets.admin}, groups: [admin] }
    owner: { token: ${secrets.owner}, groups: [user-management] }
    analyst: { token: ${secrets.analyst}, groups: [analysts] }
    outsider: { token: ${secrets.outsider} }
`,
  )
  const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
  for (const t of [usersTopic, playsTopic]) await rt.log.ensureTopic(t, { partitions: 3 })
  await rt.log.append((await generateSampleData(rt.registry, { users: 40, plays: 0, seed: 13 })).records)
  await rt.close()
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe('the catalog in the product container (tributary serve, /iceberg)', () => {
  const logs = { text: '' }
  let base: string
  let child: ChildProcess

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    child = spawnCli(['serve', '--port', String(port), '--host', '127.0.0.1'], logs)
    // Published: both tables of the product, as its owners see them through the catalog.
    await waitFor('publishing', logs, async () => {
      for (const t of ['profiles', 'dlq']) {
        const r = await call(`${base}/iceberg`, 'GET', `/v1/namespaces/user-profiles/tables/${t}`, 'owner')
        if (r.status !== 200 || r.body.metadata['current-snapshot-id'] === undefined) return false
      }
      return true
    })
  }, 240_000)
  afterAll(async () => {
    if (child) await stop(child)
  })

  it('serves the protocol with the access rules of the product, and refuses every write', async () => {
    await catalogChecks(`${base}/iceberg`)
  }, 120_000)

  it('audits refusals: logged with the principal and route, counted per route', async () => {
    await call(`${base}/iceberg`, 'GET', '/v1/namespaces/user-profiles/tables/profiles', 'outsider')
    const metrics = (await call(base, 'GET', '/metrics', 'none')).body as string
    expect(metrics).toMatch(/tributary_access_denied_total\{route="GET \/iceberg\/v1\/namespaces\/:namespace\/tables\/:table",reason="forbidden",principal="outsider"\} [1-9]/)
    expect(metrics).toMatch(/tributary_access_denied_total\{route="POST \/iceberg\/v1\/namespaces\/:target\/tables\/:name",reason="forbidden",principal="admin"\} [1-9]/)
    await waitFor('the audit line', logs, async () => /"principal":"outsider".*"route":"GET \/iceberg\/v1\/namespaces\/:namespace\/tables\/:table"/.test(logs.text))
  })
})

describe('the catalog alone (tributary catalog serve)', () => {
  const logs = { text: '' }
  let base: string
  let child: ChildProcess

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    child = spawnCli(['catalog', 'serve', '--port', String(port)], logs)
    await waitFor('listening', logs, async () => (await fetch(`${base}/healthz`)).ok)
  }, 120_000)
  afterAll(async () => {
    if (child) await stop(child)
  })

  it('serves the same protocol and rules', async () => {
    await catalogChecks(`${base}/iceberg`)
    expect((await call(base, 'GET', '/metrics', 'none')).body).toMatch(/tributary_http_requests_total\{route="GET \/iceberg\/v1\/config",outcome="ok"\}/)
  }, 120_000)

  it('lets pyiceberg and DuckDB read the restricted table with the owner\'s bearer token, and nothing without it', async () => {
    const reads = [{ namespace: 'user-profiles', table: 'profiles' }, { namespace: 'user-profiles', table: 'dlq' }]
    const expected = await Promise.all(reads.map(async (r) => {
      const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
      try {
        const table = await rt.catalog.loadTable({ namespace: [r.namespace], name: r.table })
        return (await table.scan()).tasks.reduce((n, t) => n + t.dataFile.recordCount, 0)
      } finally {
        await rt.close()
      }
    }))
    for (const client of ['pyiceberg', 'duckdb'] as const) {
      const owner = await restCatalogClient(client, `${base}/iceberg`, { token: secrets.owner, reads })
      expect(owner.tables.filter(([ns]) => ns === 'user-profiles').map(([, t]) => t).sort(), client).toEqual(['dlq', 'profiles'])
      owner.reads.forEach((rows, i) => {
        expect(Array.isArray(rows), `${client} ${reads[i]!.table}: ${JSON.stringify(rows).slice(0, 300)}`).toBe(true)
        expect(canonicalRows(rows as Row[]).length).toBeGreaterThan(0)
        expect((rows as Row[]).length).toBeLessThanOrEqual(expected[i]!)
      })
      expect((owner.reads[0] as Row[]).some((r) => typeof r.email === 'string' && r.email.includes('@')), `${client} reads emails in clear`).toBe(true)
      const anonymous = await restCatalogClient(client, `${base}/iceberg`, { reads })
      expect(anonymous.tables.filter(([ns]) => ns === 'user-profiles'), client).toEqual([])
      for (const r of anonymous.reads) expect(r, client).toMatchObject({ error: expect.stringMatching(/401|Unauthorized|NotAuthorized/i) })
    }
  }, 300_000)

  it('shows no configured secret in any response or log line', () => {
    const text = [...seen, logs.text].join('\n')
    for (const s of Object.values(secrets)) expect(text.includes(s), 'a secret leaked').toBe(false)
  })
})

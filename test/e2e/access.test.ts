import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openConfluentRegistry } from '../../connectors/registry/confluent/index.ts'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { profilesAccess, restrictedUserProfiles } from '../helpers/access.ts'
import { failure, freePort, repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'
import { registryClient } from '../interop/registry-python.ts'
import { stopChild, waitFor } from '../helpers/processes.ts'

/**
 * Access control over real sockets: `tributary serve` (the product container, with the embedded
 * registry under /registry) and `tributary registry serve`, every route with no credential, a
 * wrong one, a principal without the right and one with it; the audit trail; and no configured
 * secret in any response, log line or `config --print`.
 */

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const secrets = {
  control: 'control-token-access-test-0001',
  admin: 'admin-token-access-test-00002',
  owner: 'owner-token-from-env-00000003',
  analyst: 'analyst-token-from-file-00004',
  outsider: 'outsider-token-access-test-05',
  ciPassword: 'schema-ci-password-000006',
  salt: 'pii-salt-access-test-000007',
}
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const as = {
  none: {},
  wrong: { authorization: 'Bearer not-a-token-of-anybody-0000' },
  wrongBasic: { authorization: basic('schema-ci', 'wrong-password-0000') },
  control: { authorization: `Bearer ${secrets.control}` },
  admin: { authorization: `Bearer ${secrets.admin}` },
  owner: { authorization: `Bearer ${secrets.owner}` },
  analyst: { authorization: `Bearer ${secrets.analyst}` },
  outsider: { authorization: `Bearer ${secrets.outsider}` },
  ci: { authorization: basic('schema-ci', secrets.ciPassword) },
} satisfies Record<string, Record<string, string>>
type Who = keyof typeof as

const root = tempDir('trib-access-e2e-')
const analystFile = path.join(root, 'analyst.token')
const configFile = path.join(root, 'tributary.yaml')
const env = { ...process.env, TRIBUTARY_CONFIG: configFile, OWNER_TOKEN: secrets.owner, TRIBUTARY_LOG_LEVEL: 'debug' }
/** Every response body and header the tests saw, and every server's log, for the secret scan. */
const seen: string[] = []
const serverLogs: Array<{ text: string }> = []

function writeConfig(): void {
  fs.writeFileSync(analystFile, `${secrets.analyst}\n`)
  fs.writeFileSync(
    configFile,
    `schemaDirs: [${JSON.stringify(path.join(repoRoot, 'schemas'))}]
http: { controlToken: ${secrets.control} }
pii: { salt: ${secrets.salt} }
access:
  principals:
    admin: { token: ${secrets.admin}, groups: [admin] }
    owner: { token: { env: OWNER_TOKEN }, groups: [user-management] }
    analyst: { token: { file: ${JSON.stringify(analystFile)} }, groups: [analysts] }
    outsider: { token: ${secrets.outsider} }
    schema-ci:
      basic: { username: schema-ci, password: ${secrets.ciPassword} }
      groups: [schema-writers]
  registryWrite: [group:admin, group:schema-writers]
`,
  )
}

interface Answer {
  status: number
  headers: Headers
  body: any
}

async function call(base: string, method: string, route: string, who: Who, body?: unknown): Promise<Answer> {
  const controller = new AbortController()
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...as[who] },
    signal: controller.signal,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  let text: string
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    // A subscription: the first record event is enough.
    const reader = res.body!.getReader()
    text = ''
    while (!/^data: /m.test(text)) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    const data = /^data: (.*)$/m.exec(text)?.[1]
    seen.push(JSON.stringify([...res.headers]), text)
    return { status: res.status, headers: res.headers, body: data ? JSON.parse(data) : undefined }
  }
  text = await res.text()
  seen.push(JSON.stringify([...res.headers]), text)
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // Prometheus text
  }
  return { status: res.status, headers: res.headers, body: parsed }
}

interface Route {
  method: string
  path: string
  body?: unknown
  /** A principal without the right, and the status it gets (absent for routes open to everyone). */
  without?: Who
  /** A principal with the right and the status it gets. */
  with: [Who, number]
  /** The status without a credential when the route is open. */
  open?: number
  registry?: boolean
}

/** Every route × (no credential, wrong credential, principal without the right, principal with it). */
async function matrix(base: string, routes: Route[]): Promise<void> {
  for (const r of routes) {
    const label = `${r.method} ${r.path}`
    const none = await call(base, r.method, r.path, 'none', r.body)
    if (r.open !== undefined) expect(none.status, `${label} without a credential`).toBe(r.open)
    else {
      expect(none.status, `${label} without a credential`).toBe(401)
      expect(none.headers.get('www-authenticate'), label).toMatch(/Bearer realm="tributary", Basic realm="tributary"/)
      expectError(none, 401, r.registry, label)
    }
    for (const wrong of ['wrong', 'wrongBasic'] as const) {
      const answer = await call(base, r.method, r.path, wrong, r.body)
      expect(answer.status, `${label} with a wrong credential`).toBe(401)
      expectError(answer, 401, r.registry, label)
    }
    if (r.without) {
      const answer = await call(base, r.method, r.path, r.without, r.body)
      expect(answer.status, `${label} as ${r.without}`).toBe(403)
      expectError(answer, 403, r.registry, label)
    }
    const [who, status] = r.with
    expect((await call(base, r.method, r.path, who, r.body)).status, `${label} as ${who}`).toBe(status)
  }
}

/** Tributary's error shape, or Confluent's on the registry routes (what Confluent clients parse). */
function expectError(a: Answer, status: number, registry: boolean | undefined, label: string): void {
  if (registry) expect(a.body, label).toEqual({ error_code: status === 403 ? 40301 : 401, message: expect.any(String) })
  else expect(a.body, label).toEqual({ error: { code: status === 403 ? 'TRIB_HTTP_FORBIDDEN' : 'TRIB_HTTP_UNAUTHORIZED', message: expect.any(String) } })
}

/** The registry routes, relative to where they are mounted; writes on scratch subjects or harmless values. */
const registryRoutes = (writer: Who, without: Who): Route[] => [
  { method: 'GET', path: '/subjects', with: [writer, 200], open: 200, registry: true },
  { method: 'GET', path: '/config', with: [writer, 200], open: 200, registry: true },
  { method: 'GET', path: '/mode', with: [writer, 200], open: 200, registry: true },
  { method: 'GET', path: '/schemas/types', with: [writer, 200], open: 200, registry: true },
  { method: 'POST', path: '/subjects/scratch-value/versions', body: { schema: '"string"' }, without, with: [writer, 200], registry: true },
  { method: 'POST', path: '/subjects/scratch-value', body: { schema: '"string"' }, with: [writer, 200], open: 200, registry: true },
  { method: 'POST', path: '/compatibility/subjects/scratch-value/versions/latest', body: { schema: '"string"' }, with: [writer, 200], open: 200, registry: true },
  { method: 'PUT', path: '/config', body: { compatibility: 'BACKWARD' }, without, with: [writer, 200], registry: true },
  { method: 'PUT', path: '/config/scratch-value', body: { compatibility: 'FULL' }, without, with: [writer, 200], registry: true },
  { method: 'DELETE', path: '/config/scratch-value', without, with: [writer, 200], registry: true },
  { method: 'PUT', path: '/mode', body: { mode: 'READWRITE' }, without, with: [writer, 200], registry: true },
  { method: 'PUT', path: '/mode/scratch-value', body: { mode: 'READWRITE' }, without, with: [writer, 200], registry: true },
  { method: 'DELETE', path: '/mode/scratch-value', without, with: [writer, 200], registry: true },
  { method: 'DELETE', path: '/subjects/scratch-value/versions/1', without, with: [writer, 200], registry: true },
  { method: 'DELETE', path: '/subjects/scratch-value', without, with: [writer, 404], registry: true }, // every version is gone already: 40401
]

const spawnCli = (args: string[], logs: { text: string }): ChildProcess => {
  serverLogs.push(logs)
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr!.on('data', (c: Buffer) => (logs.text += c.toString()))
  return child
}
const stop = stopChild
beforeAll(() => writeConfig())
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe('the product container (tributary serve)', () => {
  const dataDir = path.join(root, 'container')
  const logs = { text: '' }
  let base: string
  let child: ChildProcess

  beforeAll(async () => {
    const product = restrictedUserProfiles(path.join(root, 'products'), profilesAccess)
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    for (const t of [usersTopic, playsTopic]) await rt.log.ensureTopic(t, { partitions: 3 })
    await rt.log.append((await generateSampleData(rt.registry, { users: 40, plays: 0, seed: 11 })).records)
    await rt.close()
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    child = spawnCli(['--data-dir', dataDir, 'serve', product, '--port', String(port), '--host', '127.0.0.1'], logs)
    // Published: the profiles table and the dead letters' table, as the owner sees them.
    await waitFor('publishing', logs, async () => {
      const tables = ((await call(base, 'GET', '/products/user-profiles', 'owner')).body.tables ?? []) as Array<{ table: string; rows: number }>
      return ['user-profiles.profiles', 'user-profiles.dlq'].every((t) => tables.some((x) => x.table === t && x.rows > 0))
    })
  }, 240_000)
  afterAll(async () => {
    if (child) await stop(child)
  })

  it('covers every route with no credential, a wrong one, one without the right and one with it', async () => {
    const profiles = 'SELECT user_id, email FROM user_profiles.profiles ORDER BY user_id LIMIT 3'
    await matrix(base, [
      { method: 'GET', path: '/healthz', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/readyz', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/metrics', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/products', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/products/user-profiles', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/products/user-profiles/odps', with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/products/user-profiles/policies', with: ['outsider', 200], open: 200 },
      { method: 'POST', path: '/query', body: { sql: 'SELECT 42 AS answer' }, with: ['outsider', 200], open: 200 },
      { method: 'GET', path: '/products/user-profiles/ports/profiles/events?from=earliest', without: 'outsider', with: ['analyst', 200] },
      { method: 'POST', path: '/query', body: { sql: profiles }, without: 'outsider', with: ['analyst', 200] },
      { method: 'POST', path: '/query', body: { sql: 'SELECT count(*) FROM "user-profiles".dlq' }, without: 'analyst', with: ['owner', 200] },
      // The product names who changes it (its owners); the container's admins are not among them.
      { method: 'PUT', path: '/products/user-profiles/policies', body: { policies: { profiles: {} } }, without: 'admin', with: ['owner', 200] },
      ...registryRoutes('admin', 'owner').map((r) => ({ ...r, path: `/registry${r.path}` })),
    ])
  }, 120_000)

  it("refuses the issue's three registry writes anonymously, and nothing changes", async () => {
    const before = {
      config: (await call(base, 'GET', '/registry/config', 'none')).body,
      versions: (await call(base, 'GET', '/registry/subjects/user-profiles.profiles-value/versions', 'none')).body,
    }
    expect(before.config).toEqual({ compatibilityLevel: 'BACKWARD' })
    expect(before.versions.length).toBeGreaterThan(0)
    for (const [method, route, body] of [
      ['PUT', '/registry/config', { compatibility: 'NONE' }],
      ['POST', '/registry/subjects/user-profiles.profiles-value/versions', { schema: '"string"' }],
      ['DELETE', '/registry/subjects/user-profiles.profiles-value', undefined],
    ] as const) {
      for (const who of ['none', 'wrong', 'outsider'] as const) expect((await call(base, method, route, who, body)).status, `${method} ${route} as ${who}`).toBe(who === 'outsider' ? 403 : 401)
    }
    expect((await call(base, 'GET', '/registry/config', 'none')).body).toEqual(before.config)
    expect((await call(base, 'GET', '/registry/subjects/user-profiles.profiles-value/versions', 'none')).body).toEqual(before.versions)
    // The control token's principal is an admin: its write is checked by the registry itself.
    expect((await call(base, 'POST', '/registry/subjects/user-profiles.profiles-value/versions', 'control', { schema: '"string"' })).body).toMatchObject({ error_code: 409 })
  })

  it('applies the body limit and the Confluent error shape to the registry routes', async () => {
    const big = await call(base, 'POST', '/registry/subjects/big-value/versions', 'admin', { schema: JSON.stringify({ type: 'record', name: 'Big', doc: 'x'.repeat(70_000), fields: [] }) })
    expect(big).toMatchObject({ status: 413, body: { error_code: 413 } })
    expect((await call(base, 'GET', '/registry/nowhere', 'none')).body).toMatchObject({ error_code: 404 })
    expect((await call(base, 'PUT', '/registry/mode', 'admin', { mode: 'READONLY' })).body).toMatchObject({ error_code: 42205 })
  })

  it("shows each reader the port's PII variant: subscriptions and SQL", async () => {
    const sql = { sql: 'SELECT email, display_name, city FROM user_profiles.profiles ORDER BY user_id' }
    const owner = (await call(base, 'POST', '/query', 'owner', sql)).body.rows as string[][]
    const analyst = (await call(base, 'POST', '/query', 'analyst', sql)).body.rows as string[][]
    expect(owner.length).toBeGreaterThan(0)
    expect(analyst).toHaveLength(owner.length)
    const hmac = (text: string) => createHmac('sha256', secrets.salt).update(text).digest('hex')
    owner.forEach(([email, name], i) => {
      expect(email).toContain('@')
      expect(analyst[i]![0]).toBe(hmac(email!))
      expect(analyst[i]![1]).toMatch(/^\**.{0,4}$/u)
      expect(analyst[i]![1]).not.toBe(name)
      expect(analyst[i]![2]).toBeNull()
    })
    type Event = { partition: number; offset: number; value: { email: string; city: string | null } }
    const event = async (who: Who) => (await call(base, 'GET', '/products/user-profiles/ports/profiles/events?from=earliest', who)).body as Event
    const clear = await event('owner')
    const hashed = await event('analyst')
    expect([hashed.partition, hashed.offset]).toEqual([clear.partition, clear.offset])
    expect(clear.value.email).toContain('@')
    // The same function on both paths: the analyst can join what it subscribes to with what it queries.
    expect(hashed.value.email).toBe(hmac(clear.value.email))
    expect(hashed.value.city).toBeNull()
  })

  it('keeps the detail of ports a reader may not read out of discovery', async () => {
    const anonymous = (await call(base, 'GET', '/products/user-profiles', 'none')).body
    const port = anonymous.outputPorts[0]
    expect(port).toMatchObject({ name: 'profiles', topic: 'user-profiles.profiles', restricted: true, schema: null, contract: null, table: null })
    expect(anonymous.tables).toEqual([])
    expect(anonymous.deadLetters.table).toBeNull()
    expect(JSON.stringify(anonymous)).not.toContain('UserProfile')
    expect((await call(base, 'GET', '/products/user-profiles/odps', 'none')).body.outputPorts[0].customProperties).toEqual([{ property: 'topic', value: 'user-profiles.profiles' }])
    const analyst = (await call(base, 'GET', '/products/user-profiles', 'analyst')).body
    expect(analyst.outputPorts[0].schema.avro.name).toBe('UserProfile')
    expect(analyst.outputPorts[0].restricted).toBeUndefined()
    expect(analyst.deadLetters.table).toBeNull()
  })

  it('audits every write and every refusal, in the log and in metrics', async () => {
    await call(base, 'PUT', '/registry/config', 'none', { compatibility: 'NONE' })
    await call(base, 'PUT', '/products/user-profiles/policies', 'owner', { policies: { profiles: {} } })
    const lines = logs.text
      .split('\n')
      .filter((l) => l.includes('"module":"audit"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request refused', principal: 'anonymous', method: 'PUT', route: 'PUT /registry/config', outcome: 'unauthenticated', status: 401 }))
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request refused', principal: 'outsider', route: 'POST /query', outcome: 'forbidden', reason: 'outsider may not read user-profiles.profiles' }))
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request refused', principal: 'refused-credential', outcome: 'unauthenticated' }))
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'write', principal: 'owner', route: 'PUT /products/:name/policies', path: '/products/user-profiles/policies', outcome: 'ok', status: 200 }))
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'write', principal: 'admin', route: 'PUT /registry/config', outcome: 'ok' }))
    // Reads that succeed are counted, not logged.
    expect(lines.filter((l) => l.route === 'GET /healthz' && l.outcome === 'ok')).toEqual([])

    const text = (await call(base, 'GET', '/metrics', 'none')).body as string
    expect(text).toMatch(/tributary_http_requests_total\{route="PUT \/registry\/config",outcome="unauthenticated"\} [1-9]/)
    expect(text).toMatch(/tributary_http_requests_total\{route="GET \/healthz",outcome="ok"\} [1-9]/)
    expect(text).toMatch(/tributary_access_denied_total\{route="POST \/query",reason="forbidden",principal="outsider"\} [1-9]/)
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(promtool.error, 'promtool is not installed, and the set-up could not install it (test/infra/tools.sh ensure promtool says why)').toBeUndefined()
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('')
  })
})

describe('tributary registry serve', () => {
  const dataDir = path.join(root, 'registry')
  const logs = { text: '' }
  let base: string
  let child: ChildProcess

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    child = spawnCli(['--data-dir', dataDir, 'registry', 'serve', '--port', String(port)], logs)
    await waitFor('registry serve listening', logs, async () => (await fetch(`${base}/subjects`)).status === 200)
  }, 60_000)
  afterAll(async () => {
    if (child) await stop(child)
  })

  it('covers every route with no credential, a wrong one, one without the right and one with it (basic auth)', async () => {
    await matrix(base, [{ method: 'GET', path: '/metrics', with: ['ci', 200], open: 200, registry: true }, ...registryRoutes('ci', 'outsider')])
  })

  it('serves Confluent clients that send basic auth: the remote registry adapter', async () => {
    const writer = await openConfluentRegistry({ url: base, username: 'schema-ci', password: secrets.ciPassword, retries: 0 })
    const schema = { type: 'record', name: 'access.Account', fields: [{ name: 'id', type: 'long' }] }
    const { id } = await writer.register('adapter-value', schema)
    expect((await writer.getVersion('adapter-value', 'latest')).id).toBe(id)
    await writer.close()

    const wrong = await failure(openConfluentRegistry({ url: base, username: 'schema-ci', password: 'not-the-password', retries: 0 }))
    expect(wrong.code).toBe('TRIB_REGISTRY_UNAUTHORIZED')
    expect(wrong.message).not.toContain('not-the-password')
    // Without credentials it reads, and its writes are refused.
    const reader = await openConfluentRegistry({ url: base, retries: 0 })
    expect(await reader.listSubjects()).toContain('adapter-value')
    expect((await failure(reader.register('adapter-value', schema))).code).toBe('TRIB_REGISTRY_UNAUTHORIZED')
    await reader.close()
  })

  it("serves Confluent clients that send basic auth: Python's SchemaRegistryClient", async () => {
    const v1 = { type: 'record', name: 'Account', namespace: 'py', fields: [{ name: 'id', type: 'long' }] }
    const subject = 'py-access-value'
    const r = await registryClient<Record<string, any>>('client', {
      url: base,
      user_info: `schema-ci:${secrets.ciPassword}`,
      subject,
      schema: JSON.stringify(v1),
      compatible: JSON.stringify({ ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] }),
      incompatible: JSON.stringify({ ...v1, fields: [...v1.fields, { name: 'note', type: 'string' }] }),
    })
    expect(r.id_again).toBe(r.id)
    expect(r.versions).toEqual([1, 2])
    expect(r.deleted_permanently).toEqual([1, 2])
    for (const user_info of [undefined, `schema-ci:wrong-password`]) {
      const refused = await registryClient<Record<string, any>>('refused', { url: base, ...(user_info ? { user_info } : {}), subject: 'adapter-value', schema: '"string"' })
      expect(refused).toMatchObject({
        register: { status: 401, error_code: 401 },
        set_compatibility: { status: 401, error_code: 401 },
        delete_subject: { status: 401, error_code: 401 },
      })
      // Reads are open, but a credential that proves nobody is refused there too.
      if (user_info) expect(refused.subjects).toEqual({ status: 401, error_code: 401 })
      else expect(refused.subjects).toContain('adapter-value')
    }
  }, 180_000)
})

describe('secrets', () => {
  it('appear in no response, no log line and not in config --print', async () => {
    const printed = spawnSync(process.execPath, [bin, 'config', '--print'], { cwd: repoRoot, env, encoding: 'utf8' })
    expect(printed.status).toBe(0)
    expect(printed.stdout).toContain('"token": "***"')
    const logs = serverLogs.map((l) => l.text)
    expect(logs.join('').length).toBeGreaterThan(10_000)
    const haystack = [...seen, printed.stdout, printed.stderr, ...logs].join('\n')
    expect(seen.length).toBeGreaterThan(100)
    for (const [name, secret] of Object.entries(secrets)) {
      expect(haystack.includes(secret), name).toBe(false)
      expect(haystack.includes(Buffer.from(secret).toString('base64')), `${name} (base64)`).toBe(false)
    }
    expect(haystack.includes(basic('schema-ci', secrets.ciPassword).slice(6)), 'basic credentials').toBe(false)
  })
})

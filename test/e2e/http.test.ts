import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId, tableRequest } from '../../runtime/lake/index.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { valueSubject } from '../../runtime/registry/registry.ts'
import { freePort, readDecoded, repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const token = 'control-token-for-tests-0123456789'

/** Reads Server-Sent Events from a response until `count` records arrived; returns their ids and data. */
async function readEvents(url: string, count: number, headers: Record<string, string> = {}): Promise<Array<{ id: string; data: { partition: number; offset: number; value: unknown } }>> {
  const controller = new AbortController()
  const res = await fetch(url, { headers, signal: controller.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: Array<{ id: string; data: { partition: number; offset: number; value: unknown } }> = []
  let buffer = ''
  while (events.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const id = /^id: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (id && data && events.length < count) events.push({ id, data: JSON.parse(data) as never })
    }
  }
  controller.abort()
  return events
}

describe('the product container over HTTP (tributary serve)', () => {
  let dataDir: string
  let base: string
  let probes: string
  let child: ChildProcess
  let logs = ''
  const serve = async (): Promise<void> => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    const probePort = await freePort()
    probes = `http://127.0.0.1:${probePort}`
    child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'serve', '--port', String(port), '--probe-port', String(probePort), '--host', '127.0.0.1'], {
      cwd: repoRoot,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', TRIBUTARY_HTTP_CONTROL_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr!.on('data', (c: Buffer) => (logs += c.toString()))
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false)
      if (ready) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`serve did not become ready: ${logs.slice(-2000)}`)
  }
  const stop = async (): Promise<number | null> => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    return exited
  }
  const appendSample = async (users: number, plays: number, seed: number) => {
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    for (const t of [usersTopic, playsTopic]) await rt.log.ensureTopic(t, { partitions: 3 })
    const { records } = await generateSampleData(rt.registry, { users, plays, seed, invalid: false })
    await rt.log.append(records)
    await rt.close()
  }
  const json = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}${path}`, init)
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }

  beforeAll(async () => {
    dataDir = tempDir('trib-http-')
    await appendSample(60, 400, 5)
    // A table of a product this container does not run: its access rules are unknown here.
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    const outsider = await rt.catalog.createTable(tableId('outsider', 'secrets'), tableRequest({ avroSchema: { type: 'record', name: 'S', fields: [{ name: 'x', type: 'string' }] } }))
    await outsider.newSnapshot({ addRows: [{ x: 'hidden' }] })
    await rt.close()
    await serve()
    // Wait until the mesh has processed the sample (the tables the tests read have been published).
    const published = async (product: string, table: string) =>
      ((await json(`/products/${product}`)).body.tables ?? []).some((t: { table: string; rows: number }) => t.table === table && t.rows > 0)
    for (let i = 0; i < 300; i++) {
      if ((await published('top-podcasts', 'top-podcasts.daily-plays')) && (await published('podcast-listeners', 'podcast-listeners.demographics'))) break
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 180_000)
  afterAll(async () => {
    if (child.exitCode === null) await stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('answers health and readiness', async () => {
    expect(await json('/healthz')).toEqual({ status: 200, body: { status: 'ok' } })
    const running = { state: 'running' }
    const ready = { ready: true, reasons: [], products: { 'user-profiles': running, 'podcast-listeners': running, 'top-podcasts': running } }
    expect(await json('/readyz')).toEqual({ status: 200, body: ready })
    // The probe port (a worker thread) says the same.
    expect(await fetch(`${probes}/healthz`).then(async (r) => [r.status, await r.json()])).toEqual([200, { status: 'ok' }])
    expect(await fetch(`${probes}/readyz`).then(async (r) => [r.status, await r.json()])).toEqual([200, ready])
  })

  it('serves Prometheus metrics that promtool accepts', async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    for (const name of ['tributary_records_in_total', 'tributary_records_out_total', 'tributary_dead_letters_total', 'tributary_batch_duration_seconds_bucket', 'tributary_consumer_lag', 'tributary_snapshot_commit_duration_seconds_bucket', 'tributary_snapshot_rows_total', 'tributary_snapshot_bytes_total', 'tributary_snapshot_age_seconds', 'tributary_audit_failures_total'])
      expect(text).toContain(name)
    expect(text).toMatch(/tributary_records_in_total\{product="user-profiles",port="users"\} \d+/)
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(promtool.error, 'promtool is not installed, and the set-up could not install it (test/infra/tools.sh ensure promtool says why)').toBeUndefined()
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('')
    expect(promtool.status).toBe(0)
  })

  it('describes products: ports with Avro and JSON Schema, SLOs, lineage, latest snapshots, ODPS', async () => {
    const list = await json('/products')
    expect(list.body.products.map((p: { name: string }) => p.name)).toEqual(['user-profiles', 'podcast-listeners', 'top-podcasts'])
    const { body } = await json('/products/podcast-listeners')
    expect(body).toMatchObject({ name: 'podcast-listeners', domain: 'podcasts', owner: { team: 'podcast-player' } })
    const profiles = body.inputPorts.find((p: { name: string }) => p.name === 'profiles')
    expect(profiles.upstream).toEqual([{ product: 'user-profiles', port: 'profiles', topic: 'user-profiles.profiles' }])
    const out = body.outputPorts[0]
    expect(out.schema.avro.name).toBe('ListenerDemographic')
    expect(out.schema.jsonSchema.properties.played_at).toEqual({ type: 'string', format: 'date-time' })
    expect(out.downstream).toEqual([{ product: 'top-podcasts', port: 'demographics' }])
    expect(out.table.rows).toBeGreaterThan(0)
    expect(body.slos.freshness).toMatchObject({ target: '1m', ok: true })
    expect(body.slos.validity.current).toBeGreaterThan(95)
    expect(body.lineage).toEqual({ upstream: ['user-profiles'], downstream: ['top-podcasts'] })
    const odps = await json('/products/podcast-listeners/odps')
    expect(odps.body).toMatchObject({ apiVersion: 'v1.0.0', kind: 'DataProduct', id: 'urn:tributary:podcasts:podcast-listeners', status: 'active', domain: 'podcasts' })
    expect(odps.body.managementPorts.map((p: { content: string }) => p.content)).toEqual(['discoverability', 'observability', 'control'])
  })

  it('streams an output port as SSE and resumes after Last-Event-ID with no gap and no duplicate', async () => {
    const url = `${base}/products/user-profiles/ports/profiles/events?from=earliest`
    const all = await readEvents(url, 60)
    const first = all.slice(0, 25)
    const rest = await readEvents(`${base}/products/user-profiles/ports/profiles/events`, 35, { 'last-event-id': first.at(-1)!.id })
    const key = (e: { data: { partition: number; offset: number } }) => `${e.data.partition}@${e.data.offset}`
    expect([...first, ...rest].map(key)).toEqual(all.map(key))
    // The same endpoint serves NDJSON, and accepts an event id as `from`.
    const nd = await fetch(`${base}/products/user-profiles/ports/profiles/events?from=${encodeURIComponent(first.at(-1)!.id)}`, { headers: { accept: 'application/x-ndjson' } })
    const reader = nd.body!.getReader()
    const { value } = await reader.read()
    await reader.cancel()
    const line = JSON.parse(new TextDecoder().decode(value).split('\n')[0]!) as { partition: number; offset: number }
    expect(`${line.partition}@${line.offset}`).toBe(key(rest[0]!))
  })

  it('keeps server memory bounded for a client that does not read', async () => {
    // A big topic, then a subscriber that never reads from its socket.
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    // Profiles of one user, so that the lake's compactor, which reads the topic too, keeps one row
    // (invalid bytes would be 200 MB of dead letters to write, whose memory is not the stream's).
    const encode = await rt.codec.serde.encoder(valueSubject('user-profiles.profiles'), loadProduct(path.join(repoRoot, 'products/user-profiles')).outputs[0]!.schema.schema)
    const value = encode({ user_id: 1, email: 'someone@example.com', display_name: 'x'.repeat(4000), age_band: null, country: 'DE', city: null, plan: 'free', marketing_opt_in: false, lifetime_value: '0.00', registered_at: '2026-01-01T00:00:00.000000Z', updated_at: '2026-01-01T00:00:00.000000Z' })
    for (let i = 0; i < 25; i++) await rt.log.append(Array.from({ length: 2000 }, () => ({ topic: 'user-profiles.profiles', partition: 0, key: null, value })))
    await rt.close()
    const rss = async () => Number(/^tributary_process_resident_memory_bytes (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())![1])
    const before = await rss()
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1')
    socket.write(`GET /products/user-profiles/ports/profiles/events?from=earliest HTTP/1.1\r\nHost: x\r\n\r\n`)
    socket.pause()
    await new Promise((r) => setTimeout(r, 4000))
    const during = await rss()
    socket.destroy()
    // 200 MB of events are waiting; the server holds one batch and the socket buffers.
    expect(during - before).toBeLessThan(80 * 2 ** 20)
  })

  it('runs read-only SQL with a row cap, and refuses anything else with a JSON error', async () => {
    const ok = await json('/query', { method: 'POST', body: JSON.stringify({ sql: 'SELECT user_id FROM user_profiles.profiles ORDER BY user_id', maxRows: 3 }) })
    expect(ok.status).toBe(200)
    expect(ok.body.rows).toHaveLength(3)
    expect(ok.body.truncated).toBe(true)
    const forbidden = await json('/query', { method: 'POST', body: JSON.stringify({ sql: 'DROP TABLE x' }) })
    expect(forbidden).toMatchObject({ status: 400, body: { error: { code: 'TRIB_QUERY_FORBIDDEN' } } })
    const unknown = await json('/query', { method: 'POST', body: JSON.stringify({ sql: 'SELECT * FROM nope.nope' }) })
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'TRIB_QUERY_UNKNOWN_TABLE' } } })
    // The lake has it, but no product this container runs declares it.
    const outsider = await json('/query', { method: 'POST', body: JSON.stringify({ sql: 'SELECT * FROM outsider.secrets' }) })
    expect(outsider).toMatchObject({ status: 404, body: { error: { code: 'TRIB_QUERY_UNKNOWN_TABLE' } } })
    // A snapshot id as a JSON number beyond 2^53 arrives rounded: refused, never answered with another snapshot.
    const rounded = await json('/query', { method: 'POST', body: '{"sql": "SELECT count(*) FROM user_profiles.profiles", "asOf": 3077426638724494123}' })
    expect(rounded).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST', message: expect.stringContaining('send ids beyond 2^53 as strings') } } })
    const asText = await json('/query', { method: 'POST', body: '{"sql": "SELECT count(*) FROM user_profiles.profiles", "asOf": "3077426638724494123"}' })
    expect(asText).toMatchObject({ status: 404, body: { error: { code: 'TRIB_LAKE_SNAPSHOT_NOT_FOUND', message: expect.stringContaining('3077426638724494123') } } })
  })

  it('answers SQL with exact values: int64 with every digit, -0.0, NaN and the infinities as strings, bytes in base64', async () => {
    const sql = `SELECT 9223372036854775807::BIGINT AS max, -9007199254740993::BIGINT AS below, '-0.0'::DOUBLE AS nz, 'NaN'::DOUBLE AS nan, '-Infinity'::DOUBLE AS ninf, '\\xDE\\xAD'::BLOB AS b, TIMESTAMP '2500-01-01 00:00:00' AS ts`
    const res = await fetch(`${base}/query`, { method: 'POST', body: JSON.stringify({ sql }) })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('"rows":[[9223372036854775807,-9007199254740993,-0.0,"NaN","-Infinity","3q0=","2500-01-01T00:00:00.000000"]]')
  })

  it('applies PII policies live, behind a bearer token, and logs who changed them', async () => {
    const put = (headers: Record<string, string>, body: unknown = { policies: { profiles: { email: 'hash' } } }) =>
      json('/products/user-profiles/policies', { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    expect(await put({})).toMatchObject({ status: 401, body: { error: { code: 'TRIB_HTTP_UNAUTHORIZED' } } })
    // A credential that proves nobody is refused like none at all (RFC 6750: 401); 403 is for a principal without the right.
    expect(await put({ authorization: 'Bearer wrong-token-wrong-token-000' })).toMatchObject({ status: 401, body: { error: { code: 'TRIB_HTTP_UNAUTHORIZED' } } })
    expect(await put({ authorization: `Bearer ${token}` }, { policies: { profiles: { marketing_opt_in: 'hash' } } })).toMatchObject({ status: 400 })
    const ok = await put({ authorization: `Bearer ${token}`, 'x-tributary-actor': 'alice' })
    expect(ok.status).toBe(200)
    expect(ok.body.policies.profiles).toEqual({ email: 'hash' })
    expect((await json('/products/user-profiles/policies')).body.policies.profiles).toEqual({ email: 'hash' })
    expect(logs).toMatch(/"actor":"alice".*"msg":"PII policy changed"/)

    await appendSample(20, 0, 99)
    // New profile events carry hashed emails; earlier ones are as they were.
    let hashed = 0
    for (let i = 0; i < 100 && hashed === 0; i++) {
      await new Promise((r) => setTimeout(r, 200))
      const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
      const rows = (await readDecoded(rt.log, rt.codec.serde, 'user-profiles.profiles')).filter((r) => r.value && typeof r.value === 'object')
      await rt.close()
      hashed = rows.filter((r) => /^[0-9a-f]{64}$/.test((r.value as { email: string }).email)).length
      if (hashed > 0) expect(rows.some((r) => (r.value as { email: string }).email.includes('@'))).toBe(true)
    }
    expect(hashed).toBeGreaterThan(0)
  })

  it('answers bad requests with a 4xx and a JSON error code', async () => {
    expect(await json('/products/..%2F..%2Fetc/odps')).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST' } } })
    expect(await json('/products/NOPE')).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST' } } })
    expect(await json('/products/no-such')).toMatchObject({ status: 404, body: { error: { code: 'TRIB_PRODUCT_NOT_FOUND' } } })
    expect(await json('/no/such/route')).toMatchObject({ status: 404, body: { error: { code: 'TRIB_HTTP_NOT_FOUND' } } })
    expect(await json('/healthz', { method: 'POST' })).toMatchObject({ status: 405, body: { error: { code: 'TRIB_HTTP_METHOD_NOT_ALLOWED' } } })
    expect(await json('/products/user-profiles/ports/profiles/events?from=yesterday')).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST', message: expect.stringMatching(/from=/) } } })
    expect(await json('/products/user-profiles/ports/nope/events')).toMatchObject({ status: 404 })
    const big = await json('/query', { method: 'POST', body: JSON.stringify({ sql: `SELECT '${'x'.repeat(70_000)}'` }) })
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'TRIB_HTTP_BODY_TOO_LARGE' } } })
    expect(await json('/query', { method: 'POST', body: '{"sql": ' })).toMatchObject({ status: 400, body: { error: { code: 'TRIB_HTTP_BAD_REQUEST' } } })
  })

  it('caps concurrent subscriptions per client', async () => {
    const open = await Promise.all(Array.from({ length: 4 }, () => fetch(`${base}/products/user-profiles/ports/profiles/events`)))
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200])
    const fifth = await json('/products/user-profiles/ports/profiles/events')
    expect(fifth).toMatchObject({ status: 429, body: { error: { code: 'TRIB_HTTP_TOO_MANY_STREAMS' } } })
    for (const r of open) await r.body!.cancel()
  })

  it('serves the embedded schema registry under /registry', async () => {
    const subjects = await json('/registry/subjects')
    expect(subjects.status).toBe(200)
    expect(subjects.body).toContain('user-profiles.profiles-value')
  })

  it('stops gracefully on SIGTERM under load: exit 0, nothing lost, nothing duplicated', async () => {
    await appendSample(400, 6000, 123)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await stop()).toBe(0)
    // Whatever was left is processed by a later run; every play is in the demographics exactly once.
    expect(spawnSync(process.execPath, [bin, '--data-dir', dataDir, 'run', '--until-idle'], { cwd: repoRoot, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } }).status).toBe(0)
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    const plays = await readDecoded(rt.log, rt.codec.serde, playsTopic)
    const demographics = await readDecoded(rt.log, rt.codec.serde, 'podcast-listeners.demographics')
    await rt.close()
    const ids = demographics.map((r) => (r.value as { play_id: string }).play_id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBe(plays.length)
  })
})

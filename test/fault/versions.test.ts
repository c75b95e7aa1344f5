import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { readToEnd, type Log, type LogRecord, type OutgoingRecord } from '../../runtime/log/log.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { writeJson } from '../../runtime/codec/json/write.ts'
import { generateSampleData, usersTopic } from '../../products/sample-data/generate.ts'
import { freePort, readDecoded, repoRoot, tempDir } from '../helpers/runtime.ts'

/**
 * A migration, end to end: major 2 of user-profiles (test/fixtures/versions/user-profiles-v2: an
 * incompatible output schema) backfills beside major 1 on the same input (killed mid-backfill and
 * resumed), is promoted while a Kafka-style subscriber and an HTTP subscriber read, and major 1 is
 * retired. Nothing under the old names is lost or rewritten, and major 2's outputs equal a run of
 * it alone over the same input.
 */
const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const v1 = path.join(repoRoot, 'products/user-profiles')
const v2 = path.join(repoRoot, 'test/fixtures/versions/user-profiles-v2')
const dataDir = tempDir('trib-versions-')
const referenceDir = tempDir('trib-versions-ref-')
const env = { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', TRIBUTARY_PRODUCTS: `${v1},${v2}` }

const cli = (args: string[], dir = dataDir) => {
  const r = spawnSync(process.execPath, [bin, '--data-dir', dir, ...args], { cwd: repoRoot, encoding: 'utf8', env })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const ok = (args: string[], dir = dataDir) => {
  const r = cli(args, dir)
  expect(r.stderr, args.join(' ')).not.toMatch(/^error /m)
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
  return r.stdout
}
const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
const lag = async (log: Log, group: string, topic: string) => {
  const committed = new Map((await log.groupOffsets(group)).filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]))
  return ((await log.describeTopic(topic))?.partitions ?? []).reduce((n, p) => n + p.end - (committed.get(p.partition) ?? 0), 0)
}
const bytes = (r: LogRecord) => [r.partition, r.offset, r.key?.toString('hex') ?? null, r.value?.toString('hex') ?? null].join('|')

/**
 * NDJSON events of a subscription, until `count` arrived; the last id is how a client resumes. Its
 * own connection each time (no keep-alive pool whose idle sockets the server may be closing).
 */
function subscribe(url: string, count: number, lastEventId?: string): Promise<Array<{ id: string; partition: number; offset: number; key: unknown; value: Record<string, unknown> | null }>> {
  return new Promise((resolve, reject) => {
    const events: Array<{ id: string; partition: number; offset: number; key: unknown; value: Record<string, unknown> | null }> = []
    const req = http.get(url, { agent: false, headers: { accept: 'application/x-ndjson', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`))
      let buffer = ''
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8')
        for (let nl = buffer.indexOf('\n'); nl >= 0 && events.length < count; nl = buffer.indexOf('\n')) {
          events.push(JSON.parse(buffer.slice(0, nl)))
          buffer = buffer.slice(nl + 1)
        }
        if (events.length >= count) {
          req.destroy()
          resolve(events)
        }
      })
      res.on('end', () => resolve(events))
    })
    req.on('error', (e) => (events.length >= count ? undefined : reject(e)))
  })
}

let runtime: Runtime
let slices: OutgoingRecord[][]
let serve: ChildProcess | undefined
let reading = true

beforeAll(async () => {
  runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
  await runtime.log.ensureTopic(usersTopic, { partitions: 3 })
  const { records } = await generateSampleData(runtime.registry, { users: 4000, plays: 0, invalid: false, seed: 7 })
  const users = records.filter((r) => r.topic === usersTopic)
  const third = Math.ceil(users.length / 3)
  slices = [users.slice(0, third), users.slice(third, 2 * third), users.slice(2 * third)]
})

afterAll(async () => {
  reading = false
  if (serve && serve.exitCode === null) serve.kill('SIGKILL')
  await runtime.close()
  for (const d of [dataDir, referenceDir]) fs.rmSync(d, { recursive: true, force: true })
})

describe('versions side by side', () => {
  it('backfills major 2 beside major 1, promotes it while subscribers read, retires major 1; nothing is lost or rewritten', async () => {
    const { log } = runtime
    const v1Topic = 'user-profiles.profiles'
    const v2Topic = 'user-profiles.v2.profiles'

    // Major 1 runs on the first third of the input.
    await log.append(slices[0]!)
    ok(['run', v1, '--until-idle'])

    // A Kafka-style subscriber of major 1's topic reads, in its own group, for the whole migration.
    const seen: LogRecord[] = []
    const subscriber = log.consumer({ group: 'migration-subscriber', topics: [v1Topic] })
    const subscribed: Promise<void> = (async () => {
      while (reading) {
        const batch = await subscriber.poll({ maxWaitMs: 200 })
        if (batch.length === 0) continue
        seen.push(...batch)
        const next = new Map<number, number>()
        for (const r of batch) next.set(r.partition, r.offset + 1)
        await subscriber.commit({ offsets: [...next].map(([partition, offset]) => ({ topic: v1Topic, partition, offset })) })
      }
    })()
    subscribed.catch(() => undefined) // awaited below; this only keeps an early failure from going unhandled

    // Major 2 backfills from the start of the same input: killed mid-way, then resumed.
    const backfill = spawn(process.execPath, [bin, '--data-dir', dataDir, 'run', v2], { cwd: repoRoot, env, stdio: 'ignore' })
    for (const deadline = Date.now() + 90_000; (await log.groupOffsets('user-profiles.v2')).length === 0; await new Promise((r) => setTimeout(r, 5)))
      if (Date.now() > deadline) throw new Error('major 2 never committed')
    backfill.kill('SIGKILL')
    await new Promise((r) => backfill.once('exit', r))
    expect(await lag(log, 'user-profiles.v2', usersTopic), 'killed mid-backfill').toBeGreaterThan(0)
    ok(['run', v2, '--until-idle'])
    expect(await lag(log, 'user-profiles.v2', usersTopic)).toBe(0)

    // Both majors in one container, with their HTTP ports.
    const port = await freePort()
    // Its info logs say when a major stops.
    serve = spawn(process.execPath, [bin, '--data-dir', dataDir, 'serve', v1, v2, '--port', String(port)], { cwd: repoRoot, env: { ...env, TRIBUTARY_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let serveLog = ''
    serve.stderr!.on('data', (d: Buffer) => (serveLog += d.toString()))
    const base = `http://127.0.0.1:${port}`
    await until('serve to be ready', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200)
    const discovery = async () => (await (await fetch(`${base}/products/user-profiles`)).json()) as { major: number; versions: Array<{ major: number; status: string }>; outputPorts: Array<{ topic: string }> }
    expect((await discovery()).major).toBe(1)

    // An HTTP subscriber on the plain name reads major 1's events, then goes away.
    const events = `${base}/products/user-profiles/ports/profiles/events`
    const firstRead = await subscribe(`${events}?from=earliest`, 40)
    expect(firstRead.every((e) => e.id.startsWith('1@') && typeof e.value?.user_id === 'number')).toBe(true)

    const beforePromotion = (await readToEnd(log, v1Topic)).map(bytes)
    const promoted = ok(['promote', 'user-profiles', '2'])
    expect(promoted).toMatch(/v2 is promoted \(was v1\)/)

    // The plain names now serve major 2: discovery, catalog, query, new subscriptions.
    await until('the container to see the promotion', async () => (await discovery()).major === 2)
    const described = await discovery()
    expect(described.outputPorts[0]!.topic).toBe(v2Topic)
    expect(described.versions).toEqual([expect.objectContaining({ major: 1, status: 'running' }), expect.objectContaining({ major: 2, status: 'promoted' })])
    expect(ok(['catalog'])).toMatch(/user-profiles\s+v1, v2 \(promoted\)/)
    const fresh = await subscribe(`${events}?from=earliest`, 5)
    expect(fresh.every((e) => e.id.startsWith('2@'))).toBe(true)
    expect(fresh.filter((e) => e.value).every((e) => typeof e.value!.user_id === 'string' && String(e.value!.user_id).startsWith('u-'))).toBe(true)

    // The HTTP subscriber resumes where it was: still major 1, with no gap and no repeat.
    const resumed = await subscribe(events, beforePromotion.length - firstRead.length, firstRead.at(-1)!.id)
    const http = [...firstRead, ...resumed]
    expect(http.every((e) => e.id.startsWith('1@'))).toBe(true)
    expect(http.map((e) => `${e.partition}|${e.offset}`).sort()).toEqual(beforePromotion.map((b) => b.split('|').slice(0, 2).join('|')).sort())

    // Both majors keep running on new input until major 1 is retired.
    await log.append(slices[1]!)
    await until('both majors to read the second third', async () => (await lag(log, 'user-profiles', usersTopic)) === 0 && (await lag(log, 'user-profiles.v2', usersTopic)) === 0)
    expect(cli(['retire', 'user-profiles', '2']).stderr).toMatch(/^error TRIB_VERSION_STATE: user-profiles v2 is the major its plain names serve/)
    expect(ok(['retire', 'user-profiles', '1', '--after', '1s'])).toMatch(/v1 retires at /)
    await until('major 1 to stop', async () => (await discovery()).versions[0]!.status === 'retired' && /major retired: stopping it/.test(serveLog), 30_000)
    const v1Offsets = await log.groupOffsets('user-profiles')
    const v1End = (await readToEnd(log, v1Topic)).length
    await log.append(slices[2]!)
    await until('major 2 to read the last third', async () => (await lag(log, 'user-profiles.v2', usersTopic)) === 0)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await log.groupOffsets('user-profiles'), 'a retired major reads nothing more').toEqual(v1Offsets)

    serve.kill('SIGTERM')
    expect(await new Promise((r) => serve!.once('exit', r))).toBe(0)
    reading = false
    await subscribed
    await subscriber.close()

    // Under the old names nothing was lost or rewritten: major 1's topic kept every record it had,
    // byte for byte, and its subscriber read each of them once.
    const v1Final = await readToEnd(log, v1Topic)
    const kept = new Set(v1Final.map(bytes))
    expect(beforePromotion.filter((b) => !kept.has(b)), 'records of major 1 changed or gone').toEqual([])
    expect(v1Final).toHaveLength(v1End)
    expect(seen.map(bytes).sort()).toEqual(v1Final.map(bytes).sort())
    expect(ok(['versions', 'user-profiles', '--format', 'json'])).toMatch(/"status": "retired"[\s\S]*"status": "promoted"/)

    // Both histories are readable: the plain name is major 2's table, user_profiles_v1 major 1's.
    const query = (sql: string) => JSON.parse(ok(['query', sql, '--format', 'json'])) as Array<Record<string, unknown>>
    expect(query('SELECT DISTINCT typeof(user_id) AS t FROM user_profiles.profiles')).toEqual([{ t: 'VARCHAR' }])
    expect(query('SELECT DISTINCT typeof(user_id) AS t FROM user_profiles_v1.profiles')).toEqual([{ t: 'BIGINT' }])
    const [v1Rows, v2Rows] = [query('SELECT count(*) AS n FROM user_profiles_v1.profiles')[0]!.n, query('SELECT count(*) AS n FROM user_profiles_v2.profiles')[0]!.n]
    expect(Number(v1Rows)).toBeGreaterThan(0)
    expect(Number(v2Rows)).toBeGreaterThan(0)

    // Major 2 side by side (killed, resumed, beside major 1) wrote what it writes alone on the
    // same input: per key, the same values in the same order.
    const reference = await openRuntime(loadConfig({ env: {}, flags: { dataDir: referenceDir } }))
    try {
      await reference.log.ensureTopic(usersTopic, { partitions: 3 })
      const { records } = await generateSampleData(reference.registry, { users: 4000, plays: 0, invalid: false, seed: 7 })
      await reference.log.append(records.filter((r) => r.topic === usersTopic))
    } finally {
      await reference.close()
    }
    ok(['run', v2, '--until-idle'], referenceDir)
    const byKey = async (rt: Runtime) => {
      const out = new Map<string, unknown[]>()
      for (const r of await readDecoded(rt.log, rt.codec.serde, v2Topic)) out.set(writeJson(r.key), [...(out.get(writeJson(r.key)) ?? []), r.value])
      return out
    }
    const sideBySide = await byKey(runtime)
    const again = await openRuntime(loadConfig({ env: {}, flags: { dataDir: referenceDir } }))
    const alone = await byKey(again).finally(() => again.close())
    expect(sideBySide.size).toBeGreaterThan(3000)
    expect(sideBySide).toEqual(alone)
  }, 400_000)
})

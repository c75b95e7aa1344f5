import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { writeTickProduct, until } from '../helpers/products.ts'
import { stopChild, waitFor } from '../helpers/processes.ts'
import { freePort, readDecoded, readTopic, repoRoot, tempDir } from '../helpers/runtime.ts'
import { PrivateBroker } from '../integration/kafka-private-broker.ts'
import { requireKafka } from '../integration/kafka-support.ts'
import { S3_ENDPOINT, assertS3Reachable, createBucket, faultProxy, type Fault } from '../integration/s3-server.ts'

/**
 * Chaos on the real container (issue 10 item 4): `tributary serve` as child processes (two
 * instances of one configuration, one consumer group per product) on a private Kafka broker, a
 * schema registry served by `tributary registry serve` (its own child) and the S3 server behind a
 * fault proxy. Two products: `eo` exactly-once, `alo` at-least-once, each compacted into the lake.
 * Faults in turn, with input flowing and instance A SIGKILLed (and started again) during each:
 * S3 answering 503, S3 resetting connections, S3 answering too slowly (timeouts) or slowly, a
 * second instance joining, the broker stopped and started again, the registry stopped and started
 * again, the second instance leaving. Afterwards every input id is in the output topics (read
 * committed) and in the lake: exactly once for `eo`, at least once for `alo`; no container exited
 * but by our hand; readiness named the broker and registry outages and cleared; and the probe port answered
 * /healthz and /readyz within 100 ms at the 99th percentile throughout (a poller on a thread of
 * its own asks every 20 ms). On this 2-core machine shared with other suites, a bare Node HTTP
 * server in a process of its own, polled the same way, shows what the machine's load alone costs
 * an answer (CPU scheduling): the probes' tail follows that tail (the figures print both), so when
 * the machine alone is past 100 ms the probes may be no slower than it by more than a quarter.
 * TRIBUTARY_TEST_CHAOS_SAMPLES=<file> writes every sample, the containers' starts and kills and their logs there.
 */

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const PER_PHASE = 1500
const PRODUCTS = ['eo', 'alo'] as const
const REGISTRY_USER = { username: 'chaos', password: 'chaos-registry-password' }

interface Instance {
  readonly name: string
  readonly port: number
  readonly probePort: number
  readonly dataDir: string
  child?: ChildProcess
  logs: { text: string }
  /** Set before we kill or stop it: an exit without it is the container exiting on its own. */
  expectExit: boolean
}

interface ReadyBody {
  ready: boolean
  reasons: string[]
}

const ticks = (topic: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ topic, key: Buffer.from(String(from + i)), value: Buffer.from(JSON.stringify({ id: from + i, note: `tick ${from + i}` })) }))

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN) * 10) / 10
}

describe('chaos on the real container: serve children through S3, broker, registry and membership faults, SIGKILLs during each', () => {
  let dir: string
  let broker: PrivateBroker
  let bucket: { bucket: string; remove: () => Promise<void> }
  let proxy: Awaited<ReturnType<typeof faultProxy>>
  let s3Fault: () => Fault = () => 'pass'
  let registry: { child?: ChildProcess; port: number; dataDir: string; logs: { text: string } }
  let runtime: Runtime | undefined
  let poller: Worker
  /** A bare Node HTTP server in a process of its own, polled like the probes: what this machine's load alone costs a probe. */
  let control: { child: ChildProcess; port: number }
  const instances: Instance[] = []
  const unexpectedExits: string[] = []
  const events: Array<{ at: number; what: string }> = []
  const faults: Record<string, number> = {}
  const count = (what: string, n = 1) => void (faults[what] = (faults[what] ?? 0) + n)
  let configFile: string
  let productDirs: string[]

  const spawnCli = (args: string[], env: Record<string, string>, logs: { text: string }): ChildProcess => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.on('data', (c: Buffer) => (logs.text += c.toString()))
    return child
  }

  const startRegistry = async (): Promise<void> => {
    registry.child = spawnCli(['--config', path.join(dir, 'registry.yaml'), '--data-dir', registry.dataDir, 'registry', 'serve', '--port', String(registry.port), '--host', '127.0.0.1'], {}, registry.logs)
    await waitFor('registry serve listening', registry.logs, async () => (await fetch(`http://127.0.0.1:${registry.port}/subjects`)).status === 200)
  }
  const stopRegistry = async (): Promise<void> => {
    const child = registry.child!
    registry.child = undefined
    await stopChild(child)
  }

  const start = (inst: Instance): void => {
    inst.expectExit = false
    const child = spawnCli(
      ['--config', configFile, 'serve', ...productDirs, '--port', String(inst.port), '--probe-port', String(inst.probePort), '--host', '127.0.0.1'],
      { TRIBUTARY_DATA_DIR: inst.dataDir, TRIBUTARY_KAFKA_CLIENT_ID: `chaos-${inst.name}` },
      inst.logs,
    )
    inst.child = child
    events.push({ at: Date.now(), what: `start ${inst.name}` })
    child.once('exit', (code, signal) => {
      if (!inst.expectExit) unexpectedExits.push(`${inst.name} exited on its own (code ${code}, signal ${signal}): ${inst.logs.text.slice(-2000)}`)
    })
    poller.postMessage({ add: inst.probePort })
  }
  const exit = async (inst: Instance, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> => {
    const child = inst.child!
    events.push({ at: Date.now(), what: `${signal} ${inst.name}` })
    inst.expectExit = true
    poller.postMessage({ remove: inst.probePort })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill(signal)
    const code = await exited
    if (signal === 'SIGKILL') count('SIGKILL of serve')
    return code
  }
  const readyz = async (inst: Instance): Promise<{ status: number; body: ReadyBody }> => {
    const res = await fetch(`http://127.0.0.1:${inst.probePort}/readyz`, { signal: AbortSignal.timeout(5_000) })
    return { status: res.status, body: (await res.json()) as ReadyBody }
  }
  const waitReady = (inst: Instance) => waitFor(`${inst.name} ready`, inst.logs, async () => (await readyz(inst)).status === 200)

  let fed = 0
  const feed = async (n: number): Promise<void> => {
    await runtime!.log.append(PRODUCTS.flatMap((p) => ticks(`${p}.in`, fed, fed + n)))
    fed += n
  }
  /** Distinct ids in a product's table now (the lake read straight from S3, not through the proxy). */
  const lakeIds = async (product: string): Promise<number[]> => {
    const tables = (await lakeTables(runtime!.catalog)).filter((t) => t.product === product && t.port === 'out')
    if (tables.length === 0) return []
    const result = await runQuery(runtime!.catalog, tables, `SELECT id FROM ${product}.out`, {})
    return result.rows.map((r) => Number(r[0]))
  }
  const lakeHas = async (product: string, n: number): Promise<boolean> => new Set(await lakeIds(product)).size >= n

  /** A is SIGKILLed while it works on fresh input (when the broker is there to take it), and started again. */
  const killMidBatch = async (A: Instance, fresh = true): Promise<void> => {
    if (fresh) {
      await feed(PER_PHASE)
      await sleep(250)
    }
    await exit(A, 'SIGKILL')
    start(A)
  }

  /** Faulted requests since `from` (an index into the proxy's request list). */
  const injectedSince = (from: number): number => proxy.requests.slice(from).filter((r) => !r.endsWith(' pass')).length
  /**
   * One fault of S3 while input flows: once the running container has met it a few times, A is
   * SIGKILLed and started again, and meets it again while starting; then S3 heals.
   */
  const s3Phase = async (label: string, fault: () => Fault, A: Instance): Promise<void> => {
    const before = proxy.requests.length
    s3Fault = fault
    await feed(PER_PHASE)
    await waitFor(`${label}: faults met by the running container`, A.logs, async () => injectedSince(before) >= 5)
    const restartedAt = proxy.requests.length
    await killMidBatch(A)
    await waitFor(`${label}: faults met by the restarted container`, A.logs, async () => injectedSince(restartedAt) >= 3)
    s3Fault = () => 'pass'
    count(`S3 ${label}`, injectedSince(before))
    await waitReady(A)
  }

  beforeAll(async () => {
    await requireKafka()
    await assertS3Reachable()
    dir = tempDir('trib-chaos-')
    broker = await PrivateBroker.create()
    bucket = await createBucket('chaos')
    proxy = await faultProxy(() => s3Fault())
    poller = new Worker(new URL('../helpers/probe-poller.js', import.meta.url), { workerData: { everyMs: 20, timeoutMs: 2_000 } })
    const controlPort = await freePort()
    control = {
      port: controlPort,
      child: spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('{}')).listen(${controlPort}, '127.0.0.1')`], { stdio: 'ignore' }),
    }
    registry = { port: await freePort(), dataDir: path.join(dir, 'registry'), logs: { text: '' } }
    fs.writeFileSync(
      path.join(dir, 'registry.yaml'),
      `access:\n  principals:\n    chaos: { basic: { username: ${REGISTRY_USER.username}, password: ${REGISTRY_USER.password} }, groups: [admin] }\n`,
    )
    const kafka = {
      kind: 'kafka',
      defaultPartitions: 3,
      // Faults surface in seconds rather than the production defaults' half minute.
      kafka: { brokers: [broker.address], requestTimeoutMs: 5_000, connectionTimeoutMs: 2_000, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, transactionTimeoutMs: 10_000 },
    }
    const registryConfig = { kind: 'confluent', url: `http://127.0.0.1:${registry.port}`, ...REGISTRY_USER }
    configFile = path.join(dir, 'chaos.json')
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        transport: kafka,
        registry: registryConfig,
        // The S3 client gives up on a stalled answer after 2 s (the slow phase's timeouts).
        lake: { uri: `s3://${bucket.bucket}/lake`, s3: { endpoint: proxy.endpoint, forcePathStyle: true, requestTimeoutMs: 2_000 } },
      }),
    )
    const snapshot = '{ mode: append, commit: { interval: 500ms, records: 1000 } }'
    productDirs = [
      writeTickProduct(path.join(dir, 'products'), 'eo', { snapshot, processing: '{ guarantee: exactly-once }' }),
      writeTickProduct(path.join(dir, 'products'), 'alo', { snapshot, processing: '{ guarantee: at-least-once }' }),
    ]
    await startRegistry()
    // The test's own view: inputs in, outputs and the lake read back (S3 directly, not the proxy).
    runtime = await openRuntime(
      loadConfig({
        env: {},
        flags: {
          dataDir: path.join(dir, 'reader'),
          'transport.kind': 'kafka',
          'transport.kafka.brokers': [broker.address],
          'transport.kafka.clientId': 'chaos-test',
          'registry.kind': 'confluent',
          'registry.url': registryConfig.url,
          'lake.uri': `s3://${bucket.bucket}/lake`,
          'lake.s3.endpoint': S3_ENDPOINT,
          'lake.s3.forcePathStyle': true,
        },
      }),
    )
    for (const p of PRODUCTS) await runtime.log.ensureTopic(`${p}.in`, { partitions: 3 })
    for (const name of ['a', 'b']) instances.push({ name, port: await freePort(), probePort: await freePort(), dataDir: path.join(dir, name), logs: { text: '' }, expectExit: false })
  }, 240_000)

  afterAll(async () => {
    for (const inst of instances) if (inst.child && inst.child.exitCode === null && inst.child.signalCode === null) await exit(inst, 'SIGKILL').catch(() => undefined)
    await poller?.terminate()
    control?.child.kill('SIGKILL')
    if (registry?.child) await stopRegistry()
    await runtime?.close()
    await proxy?.close()
    await bucket?.remove().catch(() => undefined)
    await broker?.destroy()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  it('every input ends in the outputs and the lake (exactly once / at least once); the containers never exit on their own; readiness names the broker outage; probes stay fast', async () => {
    const [A, B] = instances as [Instance, Instance]
    const began = Date.now()
    poller.postMessage({ add: control.port })
    start(A)
    await feed(PER_PHASE)
    await waitReady(A)

    // S3: 503 to everything; connection resets (every other request); answers too slow for the
    // client's 2 s timeout, or slow but in time (alternately).
    await s3Phase('503', () => 'http-503', A)
    let n = 0
    await s3Phase('reset', () => (n++ % 2 === 0 ? 'reset' : 'pass'), A)
    await s3Phase('slow', () => (n++ % 2 === 0 ? 'slow:2500' : 'slow:700'), A)

    // A second instance joins the groups (and the tables' writers); A is killed while the group
    // rebalances, and comes back as a third member for a while.
    start(B)
    count('instance joined')
    await feed(PER_PHASE)
    await waitReady(B)
    await killMidBatch(A)
    await waitReady(A)

    // The broker goes away: both containers say so on /readyz; A is killed meanwhile and starts
    // again while the broker is still down; B, which lived through it, clears once it is back.
    await feed(PER_PHASE)
    const downAt = Date.now()
    await broker.stop()
    const stopMs = Date.now() - downAt
    count('broker stopped and started')
    const named: Record<string, number> = {}
    await Promise.all(
      [A, B].map((inst) =>
        waitFor(`${inst.name}'s readiness naming the broker outage`, inst.logs, async () => {
          const r = await readyz(inst)
          const ok = r.status === 503 && r.body.reasons.some((x) => /^transport: Kafka brokers \S+ unreachable/.test(x))
          if (ok) named[inst.name] = Date.now() - downAt
          return ok
        }),
      ),
    )
    await killMidBatch(A, false)
    await sleep(3_000)
    await broker.start()
    const upAt = Date.now()
    await waitReady(B)
    const clearedMs = Date.now() - upAt
    await waitReady(A)

    // The registry goes away and comes back: B says so on /readyz (its watch, not a failed
    // record: every schema is cached); A is killed meanwhile and starts without it.
    await feed(PER_PHASE)
    const registryDownAt = Date.now()
    await stopRegistry()
    count('registry stopped and started')
    let registryNamedMs = 0
    await waitFor("b's readiness naming the registry outage", B.logs, async () => {
      const r = await readyz(B)
      const ok = r.status === 503 && r.body.reasons.some((x) => /^registry: schema registry \S+ unreachable/.test(x))
      if (ok) registryNamedMs = Date.now() - registryDownAt
      return ok
    })
    await killMidBatch(A)
    await sleep(3_000)
    await startRegistry()
    const registryUpAt = Date.now()
    await waitReady(B)
    const registryClearedMs = Date.now() - registryUpAt
    await waitReady(A)

    // B leaves (SIGTERM: a clean exit), and A is killed right after, during that rebalance.
    await feed(PER_PHASE)
    expect(await exit(B, 'SIGTERM')).toBe(0)
    count('instance left')
    await killMidBatch(A)
    await feed(PER_PHASE)
    await waitReady(A)

    // Everything in the lake, then A stops cleanly.
    for (const p of PRODUCTS) await until(`${p}: every input in the lake`, () => lakeHas(p, fed), 180_000)
    expect(await exit(A, 'SIGTERM')).toBe(0)
    const { samples } = await new Promise<{ samples: Array<{ port: number; route: string; at: number; ms: number; status: number | string }> }>((resolve) => {
      poller.once('message', resolve)
      poller.postMessage({ stop: true })
    })
    const tookMs = Date.now() - began
    // Every probe sample and when each container started and was killed, for a look at the tail.
    if (process.env.TRIBUTARY_TEST_CHAOS_SAMPLES) fs.writeFileSync(process.env.TRIBUTARY_TEST_CHAOS_SAMPLES, JSON.stringify({ events, samples, ports: instances.map((i) => [i.name, i.probePort]), logs: Object.fromEntries(instances.map((i) => [i.name, i.logs.text])) }))
    expect(unexpectedExits).toEqual([])

    // Outputs (read committed) and the lake, per product. Every figure is printed before any check.
    const figures: string[] = []
    const results = []
    for (const p of PRODUCTS) {
      const records = await readDecoded(runtime!.log, runtime!.codec.serde, `${p}.out`)
      const out = records.map((r) => Number((r.value as { id: number }).id))
      const lake = await lakeIds(p)
      const dead = (await readTopic(runtime!.log, `${p}.dlq`)).length
      // What the input topic holds: a duplicate there (a producer retry) would repeat in the outputs too.
      const inputs = (await readTopic(runtime!.log, `${p}.in`)).length
      const lost = (ids: number[]) => {
        const have = new Set(ids)
        return Array.from({ length: fed }, (_, i) => i).filter((i) => !have.has(i))
      }
      // Where duplicates sit (partition: offsets of the first copies), to tell a rebalance from a restart.
      const firstAt = new Map<number, string>()
      const repeated: string[] = []
      for (const r of records) {
        const id = Number((r.value as { id: number }).id)
        if (firstAt.has(id)) repeated.push(`${id}@${r.partition}:${r.offset} (first ${firstAt.get(id)})`)
        else firstAt.set(id, `${r.partition}:${r.offset}`)
      }
      results.push({ p, inputs, out, lake, dead, lostOut: lost(out), lostLake: lost(lake) })
      figures.push(
        `${p}: in ${fed} (the input topic holds ${inputs}), out ${out.length} (duplicated ${out.length - new Set(out).size}, lost ${lost(out).length}), ` +
          `lake ${lake.length} rows (duplicated ${lake.length - new Set(lake).size}, lost ${lost(lake).length}), dead letters ${dead}` +
          (p === 'eo' && repeated.length > 0 ? ` [repeated: ${repeated.slice(0, 3).join(', ')} … ${repeated.slice(-2).join(', ')}]` : ''),
      )
    }

    // Probe latencies while the containers worked through all this (answers from a live process;
    // a refused connection is a container that was down, a timeout counts as 2 s).
    const answered = samples.filter((s) => s.status !== 'refused' && s.port !== control.port)
    const ms = answered.map((s) => s.ms)
    const controlMs = samples.filter((s) => s.port === control.port && s.status === 200).map((s) => s.ms)
    const failedHealth = answered.filter((s) => s.route === '/healthz' && s.status !== 200).length
    const probe = { n: answered.length, refused: samples.filter((s) => s.status === 'refused' && s.port !== control.port).length, timeouts: answered.filter((s) => s.status === 'timeout').length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: percentile(ms, 100) }
    console.info(
      `[figures] chaos on serve children (${Math.round(tookMs / 1000)} s, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}): ` +
        `faults ${Object.entries(faults).map(([k, v]) => `${k} ${v}`).join(', ')}; ${figures.join('; ')}; ` +
        `readiness named the broker outage ${named.a} ms (a), ${named.b} ms (b) after its stop began (the broker took ${stopMs} ms to stop), cleared ${clearedMs} ms after it was back; the registry outage ${registryNamedMs} ms (b) after its stop began, cleared ${registryClearedMs} ms after it was back; ` +
        `probe port: ${probe.n} answers (${probe.refused} refused while a container was down, ${probe.timeouts} timeouts, ${failedHealth} /healthz not 200), p50 ${probe.p50} ms, p99 ${probe.p99} ms, max ${probe.max} ms; ` +
        `a bare Node HTTP server beside them (the machine's own share): ${controlMs.length} answers, p50 ${percentile(controlMs, 50)} ms, p99 ${percentile(controlMs, 99)} ms, max ${percentile(controlMs, 100)} ms`,
    )
    for (const r of results) {
      expect(r.inputs, `${r.p}: records in the input topic`).toBe(fed)
      expect(r.lostOut, `${r.p}: ids missing from the output topic`).toEqual([])
      expect(r.lostLake, `${r.p}: ids missing from the lake`).toEqual([])
      expect(r.dead).toBe(0)
      if (r.p === 'eo') {
        expect(r.out.length, 'eo: output records (exactly once)').toBe(fed)
        expect(r.lake.length, 'eo: lake rows (exactly once)').toBe(fed)
      }
    }
    expect(failedHealth).toBe(0)
    expect(probe.timeouts).toBe(0)
    // Under 100 ms; on a machine so loaded that a bare server's own p99 is near or past that (CPU
    // scheduling: measured, load average 16 on 2 cores gave 119 ms), no slower than that server by
    // more than a quarter. Probes answered by the busy main thread take seconds (npm run bench).
    expect(probe.p99).toBeLessThan(Math.max(100, 1.25 * percentile(controlMs, 99)))
  }, 600_000)
})

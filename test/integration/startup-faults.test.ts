import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import type { Log } from '../../runtime/log/log.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { freePort, readTopic, repoRoot, tempDir } from '../helpers/runtime.ts'
import { kafkaBroker, openTestKafkaLog, unique } from './kafka-support.ts'
import { S3_ENDPOINT, assertS3Reachable, createBucket } from './s3-server.ts'

/**
 * `tributary serve` when a backend is down at start: the container stays alive (/healthz 200),
 * reports not-ready with what it cannot reach (/readyz 503), logs every retry, and starts working
 * once the backend answers. The backend "comes up" when a TCP proxy in front of the real server
 * starts listening, so nothing shared with other test files is stopped.
 */

const bin = path.join(repoRoot, 'runtime/cli/bin.js')

/** A port that refuses connections until open(), then forwards them to the target. */
class LateProxy {
  #server: net.Server | undefined
  readonly #sockets = new Set<net.Socket>()
  private constructor(
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}
  static async reserve(target: string): Promise<LateProxy> {
    const url = new URL(target.includes('://') ? target : `tcp://${target}`)
    return new LateProxy(await freePort(), { host: url.hostname, port: Number(url.port) })
  }
  async open(): Promise<void> {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(this.target)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('error', () => undefined).on('close', () => this.#sockets.delete(s))
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve))
  }
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise((r) => (this.#server ? this.#server.close(r) : r(undefined)))
  }
}

/** A pass-through product over JSON counters, with topics of its own. */
function writeProduct(dir: string, name: string): { input: string; output: string } {
  const input = `${name}.in`
  const output = `${name}.out`
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'schemas', 'tick.avsc'),
    JSON.stringify({ type: 'record', name: 'Tick', namespace: 'startup', fields: [{ name: 'id', type: 'long' }] }),
  )
  fs.writeFileSync(
    path.join(dir, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: ${name}
domain: tests
description: Ticks, passed through.
owner: { team: tests }
inputPorts:
  - { name: ticks, topic: ${input}, format: json, schema: startup.Tick }
outputPorts:
  - name: ticks
    topic: ${output}
    schema: startup.Tick
    key: id
    snapshot: { mode: append, commit: { interval: 1s, records: 100 } }
`,
  )
  fs.writeFileSync(path.join(dir, 'transform.ts'), `export default (r: { value: object }) => [{ port: 'ticks', value: r.value }]\n`)
  return { input, output }
}

interface Served {
  child: ChildProcess
  base: string
  logs: () => string
  exit: Promise<number | null>
}

async function serve(dataDir: string, productDir: string, env: Record<string, string>): Promise<Served> {
  const port = await freePort()
  let logs = ''
  const child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'serve', productDir, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: repoRoot,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr!.on('data', (c: Buffer) => (logs = (logs + c.toString()).slice(-200_000)))
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) return { child, base, logs: () => logs, exit }
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`serve did not answer /healthz: ${logs.slice(-3000)}`)
}

const getJson = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(url)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, logs: () => string): Promise<T> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const v = await probe().catch(() => undefined)
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`timed out waiting for ${what}; logs: ${logs().slice(-3000)}`)
}

/** Not ready with a reason naming `target`, while alive; resolves the reason once the last failure is known. */
async function expectNotReady(s: Served, target: string, code: string): Promise<string> {
  expect(await getJson(`${s.base}/healthz`)).toEqual({ status: 200, body: { status: 'starting' } })
  const reason = await waitFor(
    `/readyz to report ${code}`,
    async () => {
      const { status, body } = await getJson(`${s.base}/readyz`)
      expect(status).toBe(503)
      const r = (body.reasons as string[])[0]!
      expect(r).toContain(target)
      return r.includes(code) ? r : undefined
    },
    90_000,
    s.logs,
  )
  const other = await getJson(`${s.base}/products`)
  expect(other.status).toBe(503)
  expect((other.body.error as { code: string }).code).toBe('TRIB_HTTP_NOT_READY')
  expect(s.child.exitCode).toBeNull()
  return reason
}

const stop = async (s: Served): Promise<number | null> => {
  s.child.kill('SIGTERM')
  return s.exit
}

describe('serve with a backend down at start (real broker and S3 server behind a late proxy)', () => {
  const dirs: string[] = []
  const running: Served[] = []
  let log: Log
  beforeAll(async () => {
    log = await openTestKafkaLog({ defaultPartitions: 2 })
    await assertS3Reachable()
  })
  afterEach(() => {
    for (const s of running.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL')
  })
  afterAll(async () => {
    await log?.close()
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })
  const dir = (prefix: string): string => {
    const d = tempDir(prefix)
    dirs.push(d)
    return d
  }

  it('Kafka down: alive and not ready, naming the brokers and retrying; once the broker answers it processes everything', async () => {
    const name = unique('startup-kafka')
    const productDir = dir('trib-startup-product-')
    const { input, output } = writeProduct(productDir, name)
    await log.ensureTopic(input, { partitions: 2 })
    await log.append(Array.from({ length: 50 }, (_, i) => ({ topic: input, key: Buffer.from(String(i)), value: Buffer.from(JSON.stringify({ id: i })) })))

    const proxy = await LateProxy.reserve(kafkaBroker)
    const brokers = `127.0.0.1:${proxy.port}`
    const s = await serve(dir('trib-startup-data-'), productDir, { TRIBUTARY_TRANSPORT: 'kafka', TRIBUTARY_KAFKA_BROKERS: brokers, TRIBUTARY_LAKE_ENABLED: 'false' })
    running.push(s)
    try {
      // The adapter's own connect loop logs each attempt; /readyz names the brokers meanwhile.
      await expectNotReady(s, brokers, 'opening')
      await waitFor('a logged retry', async () => (s.logs().includes(`Kafka brokers ${brokers} unreachable; retrying`) ? true : undefined), 30_000, s.logs)
      expect(s.child.exitCode).toBeNull()

      await proxy.open()
      await waitFor('/readyz 200', async () => ((await fetch(`${s.base}/readyz`)).status === 200 ? true : undefined), 90_000, s.logs)
      const out = await waitFor(
        'all 50 records on the output topic',
        async () => {
          const records = await readTopic(log, output).catch(() => [])
          return records.length >= 50 ? records : undefined
        },
        60_000,
        s.logs,
      )
      expect(out).toHaveLength(50)
      expect(await stop(s)).toBe(0)
    } finally {
      await proxy.close()
    }
  }, 240_000)

  it('S3 down: alive and not ready with TRIB_LAKE_STORAGE naming the endpoint; ready once S3 answers', async () => {
    const bucket = await createBucket('startup')
    const proxy = await LateProxy.reserve(S3_ENDPOINT)
    const endpoint = `http://127.0.0.1:${proxy.port}`
    const name = unique('startup-s3')
    const productDir = dir('trib-startup-product-')
    const { input } = writeProduct(productDir, name)
    const dataDir = dir('trib-startup-data-')
    const embedded = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
    await embedded.log.append(Array.from({ length: 50 }, (_, i) => ({ topic: input, key: Buffer.from(String(i)), value: Buffer.from(JSON.stringify({ id: i })) })))
    await embedded.close()
    const s = await serve(dataDir, productDir, {
      TRIBUTARY_LAKE_URI: `s3://${bucket.bucket}/lake`,
      TRIBUTARY_S3_ENDPOINT: endpoint,
      TRIBUTARY_S3_FORCE_PATH_STYLE: 'true',
      TRIBUTARY_S3_REGION: 'us-east-1',
    })
    running.push(s)
    try {
      const reason = await expectNotReady(s, endpoint, 'TRIB_LAKE_STORAGE')
      expect(reason).toContain(bucket.bucket)
      expect(s.logs()).toContain('backends not reachable at start; retrying')
      await proxy.open()
      await waitFor('/readyz 200', async () => ((await fetch(`${s.base}/readyz`)).status === 200 ? true : undefined), 90_000, s.logs)
      // The snapshot reaches the lake on S3: the container's SQL port reads it back.
      await waitFor(
        'the 50 records in the lake',
        async () => {
          const res = await fetch(`${s.base}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: `SELECT count(*) AS n FROM "${name}"."ticks"` }) })
          const body = (await res.json()) as { rows?: unknown[][] }
          return res.status === 200 && Number(body.rows?.[0]?.[0]) === 50 ? true : undefined
        },
        60_000,
        s.logs,
      )
      expect(await stop(s)).toBe(0)
    } finally {
      await proxy.close()
      await bucket.remove().catch(() => undefined)
    }
  }, 240_000)

  it('an unknown bucket is not retried: one clear error, a non-zero exit', async () => {
    const productDir = dir('trib-startup-product-')
    writeProduct(productDir, unique('startup-nobucket'))
    const s = await serve(dir('trib-startup-data-'), productDir, {
      TRIBUTARY_LAKE_URI: 's3://trib-no-such-bucket-here/lake',
      TRIBUTARY_S3_ENDPOINT: S3_ENDPOINT,
      TRIBUTARY_S3_FORCE_PATH_STYLE: 'true',
      TRIBUTARY_S3_REGION: 'us-east-1',
    }).catch((e: Error) => e)
    // It may exit before /healthz is ever polled; either way the exit is non-zero and explained.
    if (s instanceof Error) {
      expect(s.message).toContain('TRIB_LAKE_BUCKET_NOT_FOUND')
      return
    }
    running.push(s)
    expect(await s.exit).not.toBe(0)
    const errors = s.logs().split('\n').filter((l) => l.includes('TRIB_LAKE_BUCKET_NOT_FOUND'))
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors[0]).toContain('trib-no-such-bucket-here')
    expect(s.logs()).not.toContain('retrying')
  }, 120_000)
})

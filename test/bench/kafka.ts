import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import kafkajs from 'kafkajs'
import path from 'node:path'
import { generateSampleData, usersTopic } from '../../products/sample-data/generate.ts'
import type { EmbeddedRegistry } from '../../connectors/registry/embedded/registry.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import type { Log, LogRecord } from '../../runtime/log/log.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { Processor, runtimeOptions } from '../../runtime/processor/processor.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { serveWritableRegistry } from '../helpers/access.ts'
import { productsDir, repoRoot } from '../helpers/runtime.ts'
import { kafkaBroker as broker, resetKafka, unique } from '../integration/kafka-support.ts'
import type { Job, PassResult } from './kafka-pass.ts'

const PARTITIONS = 6
const PRODUCT = 'user-profiles'
const ROUNDS = Number(process.env.BENCH_KAFKA_ROUNDS ?? 3)
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round3 = (x: number): number => Number(x.toFixed(3))
const streamsDir = path.join(repoRoot, '.cache', 'kafka-streams')
/**
 * The candidate client of the comparison (BENCH_KAFKA_CLIENTS=1): the 1.x line, the last that runs
 * on Node.js 20 (2.x needs Node.js 22.22 or 24.6: Promise.withResolvers).
 */
const PLATFORMATIC_VERSION = '1.35.0'
const streamsPom = path.join(repoRoot, 'test/bench/kafka-streams/pom.xml')

type Guarantee = Job['guarantee']
type Contender = 'tributaryCold' | 'tributaryWarm' | 'tributaryPlatformaticCold' | 'tributaryPlatformaticWarm' | 'kafkaStreamsCold' | 'kafkaStreamsWarm' | 'bareKafkajsWarm'
const CONTENDERS: readonly Contender[] = ['tributaryCold', 'tributaryWarm', 'tributaryPlatformaticCold', 'tributaryPlatformaticWarm', 'kafkaStreamsCold', 'kafkaStreamsWarm', 'bareKafkajsWarm']
interface Run {
  perSec: number
  cpuPer100k: number
}

/**
 * user-profiles in Kafka mode against a Kafka Streams 3.9 application doing the same job
 * (test/bench/kafka-streams: decode the Debezium envelope, the input port's contract rules, the
 * profile mapping, Confluent-framed Avro out, keyed) and against a bare kafkajs pass-through of the
 * same messages (no decoding); Tributary runs over each client library (`tributary*` on kafkajs,
 * `tributaryPlatformatic*` on @platformatic/kafka, `transport.kafka.client`), on the real broker and the same input (user-profiles' Avro Debezium
 * CDC from products/sample-data, 6 partitions), one thread each, exactly-once and at-least-once.
 *
 * Every run is a fresh process. Cold: one pass. Warm: one untimed full pass first, in the same
 * process. A pass is timed from the first record received to the commit covering the last record;
 * CPU seconds are the process's over that span. Rounds are interleaved (contenders alternate) and
 * each figure is the median of the rounds. Both applications' outputs of a warm pass are compared
 * key by key (the order per key, key and value bytes and timestamps), so the baseline provably does
 * the same job.
 */
export async function benchKafka(users = 60_000): Promise<Record<string, unknown>> {
  const classpath = buildKafkaStreams()
  await resetKafka({ topics: (t) => t === usersTopic || t.startsWith(`${PRODUCT}.`) || t.startsWith('bench-'), groups: (g) => g === PRODUCT || g.startsWith('user-profiles-streams-') || g.startsWith('bench-') }, broker)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-bench-kafka-'))
  const runtime = await openRuntime(
    loadConfig({ env: {}, flags: { dataDir: dir, 'transport.kind': 'kafka', 'transport.kafka.brokers': [broker], 'transport.kafka.clientId': unique('bench'), 'transport.defaultPartitions': PARTITIONS } }),
  )
  // Kafka Streams reads the writer schemas over the Confluent REST API of our registry.
  const server = await serveWritableRegistry(runtime.registry as EmbeddedRegistry)
  try {
    const log = runtime.log
    await log.ensureTopic(usersTopic, { partitions: PARTITIONS })
    const { records } = await generateSampleData(runtime.registry, { users, plays: 0, invalid: false })
    for (let i = 0; i < records.length; i += 10_000) await log.append(records.slice(i, i + 10_000))
    const n = records.length
    // The product's topics and output schemas, so Kafka Streams finds the same schema ids.
    const product = loadProduct(path.join(productsDir, PRODUCT))
    await new Processor(product, runtimeOptions(runtime)).prepareOutputs()
    const outputTopic = product.outputs[0]!.spec.topic

    const runs = new Map<string, Run[]>()
    const failed: string[] = []
    const add = (g: Guarantee, c: Contender, r: PassResult | undefined): void => {
      const key = `${g}/${c}`
      if (r === undefined) failed.push(key)
      else runs.set(key, [...(runs.get(key) ?? []), { perSec: r.records / r.seconds, cpuPer100k: (r.cpuSeconds / r.records) * 100_000 }])
    }
    // A run that fails (a stalled pass on a loaded machine) is counted, not fatal to the others.
    const attempt = async (p: Promise<PassResult[]>): Promise<PassResult | undefined> =>
      p.then(
        (r) => r.at(-1),
        (e: unknown) => (process.stderr.write(`${String(e)}\n`), undefined),
      )
    const equal: Record<string, unknown> = {}
    for (let round = 0; round < ROUNDS; round++) {
      for (const g of ['exactly-once', 'at-least-once'] as const) {
        const job: Job = { kind: 'tributary', guarantee: g, passes: 1, records: n, broker, input: usersTopic, dataDir: dir, flags: { 'transport.kafka.client': 'kafkajs' } }
        add(g, 'tributaryCold', await attempt(runNode(job)))
        const warm = await attempt(runNode({ ...job, passes: 2 }))
        add(g, 'tributaryWarm', warm)
        // The platformatic runs append to the same output topic: the kafkajs pass's outputs end here.
        const warmUntil = Object.fromEntries(((await log.describeTopic(outputTopic))?.partitions ?? []).map((x) => [x.partition, x.end]))
        const platformatic: Job = { ...job, flags: { 'transport.kafka.client': 'platformatic' } }
        add(g, 'tributaryPlatformaticCold', await attempt(runNode(platformatic)))
        const platformaticWarm = await attempt(runNode({ ...platformatic, passes: 2 }))
        add(g, 'tributaryPlatformaticWarm', platformaticWarm)
        const streamsOut = unique(`bench-streams-out`)
        const dlq = unique('bench-streams-dlq')
        await createTopics([streamsOut, `${streamsOut}.warmup`], product.outputs[0]!.spec.partitions)
        await createTopics([dlq, `${dlq}.warmup`], 1)
        add(g, 'kafkaStreamsCold', await attempt(runStreams(classpath, server.url, g, 1, n, outputTopic, `${streamsOut}.warmup`, `${dlq}.warmup`)))
        const streamsWarm = await attempt(runStreams(classpath, server.url, g, 2, n, outputTopic, streamsOut, dlq))
        add(g, 'kafkaStreamsWarm', streamsWarm)
        if (equal[g] === undefined && warm !== undefined && streamsWarm !== undefined)
          equal[g] = compareOutputs(await readFrom(log, outputTopic, warm.outputFrom!, n, warmUntil), await readFrom(log, streamsOut, {}, n))
        if (equal[`${g}/platformatic`] === undefined && platformaticWarm !== undefined && streamsWarm !== undefined)
          equal[`${g}/platformatic`] = compareOutputs(await readFrom(log, outputTopic, platformaticWarm.outputFrom!, n), await readFrom(log, streamsOut, {}, n))
        const bareOut = unique('bench-bare-out')
        await createTopics([bareOut, `${bareOut}.warmup`])
        add(g, 'bareKafkajsWarm', await attempt(runNode({ kind: 'kafkajs', guarantee: g, passes: 2, records: n, broker, input: usersTopic, output: bareOut })))
      }
    }
    const figures = (g: Guarantee): Record<string, unknown> => {
      const m = (c: Contender, f: keyof Run): number => median((runs.get(`${g}/${c}`) ?? []).map((r) => r[f]))
      const out: Record<string, unknown> = {}
      for (const c of CONTENDERS)
        out[c] = { perSec: Math.round(m(c, 'perSec')), cpuSecondsPer100k: round3(m(c, 'cpuPer100k')) }
      out.ratioWarmToKafkaStreams = round3(m('tributaryWarm', 'perSec') / m('kafkaStreamsWarm', 'perSec'))
      out.ratioColdToKafkaStreams = round3(m('tributaryCold', 'perSec') / m('kafkaStreamsCold', 'perSec'))
      out.ratioWarmToBareKafkajs = round3(m('tributaryWarm', 'perSec') / m('bareKafkajsWarm', 'perSec'))
      out.platformaticWarmToKafkaStreams = round3(m('tributaryPlatformaticWarm', 'perSec') / m('kafkaStreamsWarm', 'perSec'))
      out.platformaticColdToKafkaStreams = round3(m('tributaryPlatformaticCold', 'perSec') / m('kafkaStreamsCold', 'perSec'))
      out.platformaticWarmToBareKafkajs = round3(m('tributaryPlatformaticWarm', 'perSec') / m('bareKafkajsWarm', 'perSec'))
      out.platformaticWarmToKafkajsWarm = round3(m('tributaryPlatformaticWarm', 'perSec') / m('tributaryWarm', 'perSec'))
      out.outputs = equal[g]
      out.outputsPlatformatic = equal[`${g}/platformatic`]
      return out
    }
    const result: Record<string, unknown> = { events: n, partitions: PARTITIONS, rounds: ROUNDS, threads: 1, exactlyOnce: figures('exactly-once'), atLeastOnce: figures('at-least-once'), failedRuns: failed }
    if (process.env.BENCH_KAFKA_CLIENTS === '1') result.clients = await benchClients(n).catch((e: unknown) => ({ failed: String(e).slice(0, 500) }))
    return result
  } finally {
    await server.close()
    await runtime.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The client comparison behind the README's dependency notes (`BENCH_KAFKA_CLIENTS=1`): bare
 * consume → produce pass-through, warm, with kafkajs and with @platformatic/kafka (installed for the
 * comparison under .cache/bench-clients, not a dependency), interleaved, medians of the rounds.
 */
async function benchClients(n: number): Promise<Record<string, unknown>> {
  const dir = path.join(repoRoot, '.cache', 'bench-clients')
  const entry = path.join(dir, 'node_modules/@platformatic/kafka/dist/index.js')
  if (!fs.existsSync(entry)) {
    fs.mkdirSync(dir, { recursive: true })
    const res = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', dir, `@platformatic/kafka@${PLATFORMATIC_VERSION}`], { encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`installing @platformatic/kafka failed: ${res.stderr}`)
  }
  const runs = new Map<string, Run[]>()
  for (let round = 0; round < ROUNDS; round++)
    for (const g of ['exactly-once', 'at-least-once'] as const)
      for (const kind of ['kafkajs', 'platformatic'] as const) {
        const out = unique('bench-clients-out')
        await createTopics([out, `${out}.warmup`])
        const r = (await runNode({ kind, guarantee: g, passes: 2, records: n, broker, input: usersTopic, output: out, module: entry })).at(-1)!
        runs.set(`${g}/${kind}`, [...(runs.get(`${g}/${kind}`) ?? []), { perSec: r.records / r.seconds, cpuPer100k: (r.cpuSeconds / r.records) * 100_000 }])
      }
  const out: Record<string, unknown> = { platformaticVersion: PLATFORMATIC_VERSION }
  for (const [key, list] of runs) out[key] = { perSec: Math.round(median(list.map((x) => x.perSec))), cpuSecondsPer100k: round3(median(list.map((x) => x.cpuPer100k))) }
  return out
}

/** Output topics of the baselines, created without reading them back (a fresh topic's leader may not answer yet). */
async function createTopics(topics: string[], partitions = PARTITIONS): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: [broker], clientId: unique('bench-admin'), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** Builds the Kafka Streams application with Maven into .cache/kafka-streams; returns its classpath. */
function buildKafkaStreams(): string {
  const res = spawnSync('mvn', ['-q', '-B', '-f', streamsPom, `-Dcache=${streamsDir}`, 'package', 'dependency:copy-dependencies'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`building the Kafka Streams baseline failed (mvn exit ${res.status}):\n${res.stdout}\n${res.stderr}`)
  return `${path.join(streamsDir, 'classes')}:${path.join(streamsDir, 'libs', '*')}`
}

function parseLines(stdout: string): PassResult[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PassResult)
}

function run(cmd: string, args: string[]): Promise<PassResult[]> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed: ${err.message}\n${stderr}`))
      else {
        const results = parseLines(stdout)
        if (results.length === 0) reject(new Error(`${cmd} printed no result:\n${stdout}\n${stderr}`))
        else resolve(results)
      }
    })
  })
}

const runNode = (job: Job): Promise<PassResult[]> => run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/bench/kafka-pass.ts'), JSON.stringify(job)])

function runStreams(classpath: string, registry: string, g: Guarantee, passes: number, n: number, subject: string, output: string, dlq: string): Promise<PassResult[]> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-bench-streams-'))
  return run('java', ['-cp', classpath, 'dev.tributary.bench.UserProfilesStreams', broker, registry, usersTopic, subject, output, dlq, g === 'exactly-once' ? 'eos' : 'alos', String(passes), String(n), state]).finally(() =>
    fs.rmSync(state, { recursive: true, force: true }),
  )
}

/** The records of a topic after the given offsets (all partitions; absent means 0), up to `limit` of them per topic. */
/** The records of a topic from the `from` offsets, up to the `until` offsets (exclusive) where given. */
async function readFrom(log: Log, topic: string, from: Record<number, number>, limit: number, until?: Record<number, number>): Promise<LogRecord[]> {
  const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
  const info = await log.describeTopic(topic)
  for (const p of info?.partitions ?? []) consumer.seek({ topic, partition: p.partition, offset: from[p.partition] ?? 0 })
  const out: LogRecord[] = []
  try {
    while (out.length < limit) {
      const batch = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
      for (const r of batch) if (until === undefined || r.offset < (until[r.partition] ?? Infinity)) out.push(r)
      if (batch.length === 0 && consumer.caughtUp()) break
    }
    return out
  } finally {
    await consumer.close()
  }
}

/**
 * Compares two applications' outputs key by key: for each key, the sequence of (value bytes,
 * timestamp) in offset order. Partitioning is the same (murmur2 of the key bytes), but records of
 * different input partitions interleave differently in each run, so only the order per key is
 * comparable, which is also the only order Kafka promises.
 */
function compareOutputs(a: LogRecord[], b: LogRecord[]): Record<string, unknown> {
  const byKey = (rs: LogRecord[]): Map<string, string[]> => {
    const m = new Map<string, string[]>()
    for (const r of [...rs].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
      const k = `${r.partition}/${r.key?.toString('hex') ?? 'null'}`
      let list = m.get(k)
      if (list === undefined) m.set(k, (list = []))
      list.push(`${r.value?.toString('hex') ?? 'null'}@${r.timestamp}`)
    }
    return m
  }
  const ma = byKey(a)
  const mb = byKey(b)
  let differing = 0
  let example: unknown
  for (const [k, list] of ma) {
    if (mb.get(k)?.join() === list.join()) continue
    differing++
    example ??= { key: k, ours: list, theirs: mb.get(k) ?? null }
  }
  for (const k of mb.keys()) if (!ma.has(k)) differing++
  const equal = differing === 0 && a.length === b.length
  return { equal: equal ? 'byte-for-byte' : false, records: [a.length, b.length], keys: ma.size, differingKeys: differing, ...(equal ? {} : { example }) }
}

// `tsx test/bench/kafka.ts [users]` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { setLogLevel } = await import('../../runtime/logger.ts')
  setLogLevel(process.env.TRIBUTARY_LOG_LEVEL ?? 'warn')
  process.stdout.write(`${JSON.stringify(await benchKafka(Number(process.argv[2] ?? 60_000)), null, 2)}\n`)
  process.exit(0)
}

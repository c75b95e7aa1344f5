import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { openStorageProvider } from '../../connectors/storage/index.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { TributaryError, type ErrorCode } from '../../runtime/errors.ts'
import { openFileCatalog } from '../../runtime/lake/catalog/file.ts'
import { tableId } from '../../runtime/lake/index.ts'
import { lakeResources, type LakeResources } from '../../runtime/lake/resources.ts'
import type { LakeStorage, StorageProvider } from '../../runtime/lake/storage.ts'
import { dlqHeaders } from '../../runtime/log/dead-letters.ts'
import { createMetricsRegistry } from '../../runtime/observability/prometheus.ts'
import { loadProduct, type Product } from '../../runtime/product/load.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { createRunnables, runProducts, supervise } from '../../runtime/runner.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { ProductService } from '../../runtime/service.ts'
import { frame } from '../../runtime/codec/avro/wire.ts'
import { writeTickProduct, until, type TickProduct } from '../helpers/products.ts'
import { readTopic, tempDir } from '../helpers/runtime.ts'

/**
 * The supervisor with real processors and sinks on an embedded runtime. Storage faults are
 * injected per product by a LakeStorage wrapper (a storage provider over the file adapter, under
 * the runtime's catalog): a retriable one restarts that product's table sink while another
 * product keeps committing, a non-retriable one stops that product only.
 */

type Fault = (root: string, op: string, path: string) => TributaryError | undefined
let fault: Fault | undefined

function faulty(inner: LakeStorage): LakeStorage {
  const check = (op: string, p: string) => {
    const e = fault?.(inner.root, op, p)
    if (e) throw e
  }
  return {
    root: inner.root,
    uri: (p) => inner.uri(p),
    localPath: (p) => inner.localPath(p),
    read: (p) => inner.read(p),
    exists: (p) => inner.exists(p),
    list: (p) => inner.list(p),
    folders: (p) => inner.folders(p),
    delete: (p) => inner.delete(p),
    write: async (p, d) => (check('write', p), inner.write(p, d)),
    putFile: async (p, f) => (check('putFile', p), inner.putFile(p, f)),
    createExclusive: async (p, d) => (check('createExclusive', p), inner.createExclusive(p, d)),
  }
}

/** A pass-through product, compacted into the lake. */
const writeProduct = (root: string, name: string, options: TickProduct & { timeout?: string } = {}): Product =>
  loadProduct(
    writeTickProduct(root, name, {
      snapshot: '{ mode: append, commit: { interval: 150ms, records: 10 } }',
      ...options,
      processing: `{ transformTimeout: ${options.timeout ?? '30s'} }`,
    }),
  )

const ticks = (product: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ topic: `${product}.in`, key: Buffer.from(String(from + i)), value: Buffer.from(JSON.stringify({ id: from + i, note: `tick ${from + i}` })) }))

const fast = { backoff: { initialDelayMs: 50, maxDelayMs: 400 } }

describe('supervision of real processors and sinks', () => {
  let dir: string
  let base: Runtime
  let runtime: Runtime
  let lake: LakeResources
  let products: string

  beforeAll(async () => {
    dir = tempDir('trib-supervision-')
    products = path.join(dir, 'products')
    base = await openRuntime(loadConfig({ env: {}, flags: { dataDir: path.join(dir, 'data') } }))
    // The same runtime, its lake's catalog over the fault-injecting storage.
    const files = openStorageProvider()
    const provider: StorageProvider = { open: async (uri) => faulty(await files.open(uri)), close: () => files.close() }
    lake = lakeResources({ storage: provider, cacheDir: path.join(dir, 'cache') })
    runtime = { ...base, catalog: await openFileCatalog(base.catalog.uri, lake) }
  })
  afterEach(() => {
    fault = undefined
  })
  afterAll(async () => {
    await runtime.catalog.close()
    await lake.close()
    await base.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const rowsOf = async (table: string): Promise<number> => {
    const tables = await lakeTables(base.catalog)
    const result = await runQuery(base.catalog, tables, `SELECT count(*) AS n, count(DISTINCT id) AS ids FROM "${table.split('.')[0]}".${table.split('.')[1]}`, {})
    const [n, ids] = result.rows[0] as [number, number]
    expect(Number(n)).toBe(Number(ids))
    return Number(n)
  }

  it('restarts the table sink of a product whose storage fails (retriable) while another product keeps committing', async () => {
    const alpha = writeProduct(products, 'alpha')
    const beta = writeProduct(products, 'beta')
    for (const t of ['alpha.in', 'beta.in']) await base.log.ensureTopic(t, { partitions: 2 })
    await base.log.append([...ticks('alpha', 0, 60), ...ticks('beta', 0, 60)])
    const units = await createRunnables(runtime, [alpha, beta])
    const supervisor = supervise(units, fast)
    const [alphaOut, betaOut] = [units[0]!.sinks[0]!, units[1]!.sinks[0]!]
    // Every write of alpha's data table fails, until the window closes.
    let failing = true
    let injected = 0
    fault = (root, op) => (failing && root.includes('/alpha/out') && op !== 'createExclusive' ? (injected++, new TributaryError('TRIB_LAKE_STORAGE', `injected: ${op} failed`)) : undefined)
    const abort = new AbortController()
    const started = Date.now()
    const running = supervisor.run({ signal: abort.signal })
    await until('alpha restarting', () => supervisor.restarts().some((r) => r.runnable === 'alpha.out'))
    // Beta takes new input and commits it while alpha's table cannot.
    const betaCommitsAtFirstRestart = betaOut.stats.commits
    await base.log.append(ticks('beta', 60, 90))
    await until('beta committing meanwhile', () => betaOut.stats.rows === 90 && betaOut.stats.commits > betaCommitsAtFirstRestart)
    await until('three restarts of alpha.out', () => (supervisor.restarts().find((r) => r.runnable === 'alpha.out')?.count ?? 0) >= 3)
    expect(alphaOut.stats.commits).toBe(0)
    const betaCommitsWhileFailing = betaOut.stats.commits - betaCommitsAtFirstRestart
    failing = false
    const healedAt = Date.now()
    await until('both tables complete', () => alphaOut.stats.rows === 60 && betaOut.stats.rows === 90)
    const recoveredMs = Date.now() - healedAt
    expect(supervisor.status().map((s) => s.state)).toEqual(['running', 'running'])
    abort.abort()
    await running
    const restarts = supervisor.restarts()
    expect(restarts.every((r) => r.product === 'alpha' && r.runnable === 'alpha.out' && r.code === 'TRIB_LAKE_STORAGE')).toBe(true)
    // Exactly once into the lake despite the restarts.
    expect(await rowsOf('alpha.out')).toBe(60)
    expect(await rowsOf('beta.out')).toBe(90)
    console.info(`[figures] retriable fault: ${injected} injected failures, ${restarts[0]!.count} restarts of alpha.out, beta committed ${betaCommitsWhileFailing} snapshots meanwhile; alpha complete ${recoveredMs} ms after the fault cleared, ${Date.now() - started} ms in all`)
  })

  it('a non-retriable fault stops that product only: readiness and metrics name it, the others run on', async () => {
    const gamma = writeProduct(products, 'gamma')
    const delta = writeProduct(products, 'delta')
    for (const t of ['gamma.in', 'delta.in']) await base.log.ensureTopic(t, { partitions: 2 })
    await base.log.append([...ticks('gamma', 0, 40), ...ticks('delta', 0, 40)])
    fault = (root, op) => (root.includes('/gamma/') && op !== 'createExclusive' ? new TributaryError('TRIB_LAKE_ACCESS_DENIED', 'injected: the bucket policy denies writes') : undefined)
    const service = new ProductService(runtime, [gamma, delta])
    const abort = new AbortController()
    const running = service.start(abort.signal)
    await until('gamma stopped', () => service.supervision()?.status()[0]?.state === 'stopped')
    const deltaOut = service.sinks().find((s) => s.name === 'delta.out')!
    await until('delta complete', () => deltaOut.stats.rows === 40)
    const readiness = service.readiness()
    expect(readiness.ready).toBe(false)
    expect(readiness.reasons).toEqual([expect.stringMatching(/^gamma: stopped by gamma\.(out|dlq): TRIB_LAKE_ACCESS_DENIED: .*denies writes/)])
    expect(readiness.products).toMatchObject({ gamma: { state: 'stopped', stopped: { code: 'TRIB_LAKE_ACCESS_DENIED' } }, delta: { state: 'running' } })
    const metrics = await createMetricsRegistry({ processors: () => service.processors(), sinks: () => service.sinks(), supervision: () => service.supervision(), heap: service.heap, log: base.log }).metrics()
    expect(metrics).toContain('tributary_product_up{product="gamma"} 0')
    expect(metrics).toContain('tributary_product_up{product="delta"} 1')
    expect(metrics).toMatch(/tributary_product_stopped\{product="gamma",runnable="gamma\.(out|dlq)",code="TRIB_LAKE_ACCESS_DENIED"\} 1/)
    // Delta keeps processing what arrives after gamma stopped.
    await base.log.append(ticks('delta', 40, 50))
    await until('delta takes new records', () => deltaOut.stats.rows === 50)
    abort.abort()
    await running
    expect(await rowsOf('delta.out')).toBe(50)
  })

  it('a damaged table stops only its product: garbled metadata, a garbled Parquet footer; the other tables keep committing', async () => {
    const [iota, mu, nu] = ['iota', 'mu', 'nu'].map((name) => writeProduct(products, name)) as [Product, Product, Product]
    for (const t of ['iota.in', 'mu.in', 'nu.in']) await base.log.ensureTopic(t, { partitions: 1 })
    await base.log.append([...ticks('iota', 0, 20), ...ticks('mu', 0, 20), ...ticks('nu', 0, 20)])
    await runProducts(await createRunnables(runtime, [iota, mu, nu]), { untilIdle: true })
    const tableOf = (product: string) => base.catalog.loadTable(tableId(product, 'out'))
    // iota: its newest metadata file cut short and garbled at the end (a torn write to a store without atomic puts).
    const metadataFile = (await tableOf('iota')).metadataFile.replace(/^file:\/\//, '')
    const text = fs.readFileSync(metadataFile)
    fs.writeFileSync(metadataFile, Buffer.concat([text.subarray(0, Math.floor(text.length / 2)), Buffer.from('~~~~')]))
    // nu: a data file whose footer is garbled (its length and magic bytes intact): DuckDB's own
    // message does not name the file.
    const dataFile = (await (await tableOf('nu')).files()).data[0]!.dataFile.filePath
    const parquet = fs.readFileSync(dataFile.replace(/^file:\/\//, ''))
    const footer = parquet.readUInt32LE(parquet.length - 8)
    for (let i = parquet.length - 8 - footer; i < parquet.length - 8; i++) parquet[i] = parquet[i]! ^ 0x5a
    fs.writeFileSync(dataFile.replace(/^file:\/\//, ''), parquet)

    // The container starts again (a new process: nothing of the tables is cached).
    const fresh = lakeResources({ storage: openStorageProvider(), cacheDir: path.join(dir, 'cache-restarted') })
    const restarted: Runtime = { ...base, catalog: await openFileCatalog(base.catalog.uri, fresh) }
    onTestFinished(async () => {
      await restarted.catalog.close()
      await fresh.close()
    })
    const service = new ProductService(restarted, [iota, mu, nu])
    const abort = new AbortController()
    const running = service.start(abort.signal)
    await base.log.append([...ticks('iota', 20, 30), ...ticks('mu', 20, 30), ...ticks('nu', 20, 30)])
    const stateOf = (product: string) => service.supervision()?.status().find((s) => s.product === product)?.state
    await until('iota and nu stopped', () => stateOf('iota') === 'stopped' && stateOf('nu') === 'stopped')
    const muOut = service.sinks().find((s) => s.name === 'mu.out')!
    // (stats count this container's rows: the first 20 were committed before it started)
    await until('mu complete', () => muOut.stats.rows === 10)
    const readiness = service.readiness()
    expect(readiness.ready).toBe(false)
    expect(readiness.products).toMatchObject({ iota: { state: 'stopped', stopped: { code: 'TRIB_LAKE_CORRUPT' } }, nu: { state: 'stopped', stopped: { code: 'TRIB_LAKE_CORRUPT' } }, mu: { state: 'running' } })
    const reason = (product: string) => readiness.reasons.find((r) => r.startsWith(`${product}: `)) ?? ''
    expect(reason('iota')).toMatch(/^iota: stopped by iota\.(out|dlq): TRIB_LAKE_CORRUPT: /)
    expect(reason('iota')).toContain(path.basename(metadataFile))
    expect(reason('nu')).toMatch(/^nu: stopped by nu\.out: TRIB_LAKE_CORRUPT: .*is not readable Parquet/)
    expect(reason('nu')).toContain(dataFile)
    expect(readiness.reasons.some((r) => r.startsWith('mu: '))).toBe(false)
    const metrics = await createMetricsRegistry({ processors: () => service.processors(), sinks: () => service.sinks(), supervision: () => service.supervision(), heap: service.heap, log: base.log }).metrics()
    expect(metrics).toContain('tributary_product_up{product="iota"} 0')
    expect(metrics).toContain('tributary_product_up{product="nu"} 0')
    expect(metrics).toContain('tributary_product_up{product="mu"} 1')
    expect(metrics).toMatch(/tributary_product_stopped\{product="nu",runnable="nu\.out",code="TRIB_LAKE_CORRUPT"\} 1/)
    // mu goes on committing what arrives after the others stopped.
    const commits = muOut.stats.commits
    await base.log.append(ticks('mu', 30, 40))
    await until('mu takes new records', () => muOut.stats.rows === 20 && muOut.stats.commits > commits)
    abort.abort()
    await running
    expect(await rowsOf('mu.out')).toBe(40)
  })

  it('run until idle: a product that stops does not stop the others; the run then fails naming it', async () => {
    const eps = writeProduct(products, 'epsilon')
    const zeta = writeProduct(products, 'zeta')
    for (const t of ['epsilon.in', 'zeta.in']) await base.log.ensureTopic(t, { partitions: 1 })
    await base.log.append([...ticks('epsilon', 0, 20), ...ticks('zeta', 0, 20)])
    fault = (root, op) => (root.includes('/epsilon/') && op !== 'createExclusive' ? new TributaryError('TRIB_LAKE_CORRUPT', 'injected: unreadable manifest') : undefined)
    const units = await createRunnables(runtime, [eps, zeta])
    const error = await runProducts(units, { untilIdle: true, restart: fast }).then(
      () => undefined,
      (e: unknown) => e as TributaryError,
    )
    expect(error?.code).toBe('TRIB_LAKE_CORRUPT')
    expect(error?.message).toMatch(/^product epsilon stopped \(epsilon\.(out|dlq)\): injected: unreadable manifest/)
    expect(units[1]!.sinks[0]!.stats.rows).toBe(20)
  })

  it('a product whose input topic is damaged stops alone, naming the file; the others run on', async () => {
    const kappa = writeProduct(products, 'kappa')
    const lambda = writeProduct(products, 'lambda')
    for (const t of ['kappa.in', 'lambda.in']) await base.log.ensureTopic(t, { partitions: 1 })
    await base.log.append([...ticks('kappa', 0, 30), ...ticks('lambda', 0, 30)])
    // Flipped bytes inside committed records of kappa's input.
    const folder = path.join(dir, 'data', 'log', 'topics', 'kappa.in', '0')
    const segment = path.join(folder, fs.readdirSync(folder).find((f) => f.endsWith('.seg'))!)
    const bytes = fs.readFileSync(segment)
    for (let i = Math.floor(bytes.length / 3); i < Math.floor(bytes.length / 3) + 8; i++) bytes[i] = bytes[i]! ^ 0xff
    fs.writeFileSync(segment, bytes)
    const units = await createRunnables(runtime, [kappa, lambda])
    const error = await runProducts(units, { untilIdle: true, restart: fast }).then(
      () => undefined,
      (e: unknown) => e as TributaryError,
    )
    expect(error?.code).toBe('TRIB_LOG_CORRUPT')
    expect(error?.message).toMatch(/^product kappa stopped \(kappa\): /)
    expect(error?.message).toContain(segment)
    expect(units[1]!.sinks[0]!.stats.rows).toBe(30)
  })

  it('a transform call that never settles dead-letters its record after processing.transformTimeout, and the product goes on', async () => {
    const eta = writeProduct(products, 'eta', {
      timeout: '300ms',
      transform: `
const g = globalThis as { lateStateError?: string }
export default async (r: { value: { id: number } }, ctx: { state: { put(k: string, v: unknown): void } }) => {
  if (r.value.id === 3) return new Promise(() => {})
  if (r.value.id === 5) {
    await new Promise((resolve) => setTimeout(resolve, 700))
    try { ctx.state.put('late', 1) } catch (e) { g.lateStateError = (e as { code?: string }).code }
  }
  return { port: 'out', value: r.value }
}
`,
    })
    await base.log.ensureTopic('eta.in', { partitions: 1 })
    await base.log.append(ticks('eta', 0, 10))
    const units = await createRunnables(runtime, [eta], { lake: false })
    const started = Date.now()
    await runProducts(units, { untilIdle: true })
    const elapsed = Date.now() - started
    const outputs = (await readTopic(base.log, 'eta.out')).map((r) => r.key!.length)
    expect(outputs).toHaveLength(8)
    const dead = await readTopic(base.log, 'eta.dlq')
    expect(dead.map((r) => [r.headers[dlqHeaders.code]!.toString(), r.headers[dlqHeaders.offset]!.toString(), r.headers[dlqHeaders.stage]!.toString()])).toEqual([
      ['TRIB_TRANSFORM_TIMEOUT', '3', 'transform'],
      ['TRIB_TRANSFORM_TIMEOUT', '5', 'transform'],
    ])
    expect(dead[0]!.headers[dlqHeaders.message]!.toString()).toMatch(/did not settle within 300ms for eta\.in\/0@3; its late result is ignored/)
    // Two timeouts of 300 ms, not a hang.
    expect(elapsed).toBeLessThan(10_000)
    // The late call finishes: its output is ignored, and its ctx.state refuses the write.
    await until('the late call', () => (globalThis as { lateStateError?: string }).lateStateError !== undefined, 5_000)
    expect((globalThis as { lateStateError?: string }).lateStateError).toBe('TRIB_TRANSFORM_TIMEOUT')
    expect(await readTopic(base.log, 'eta.out')).toHaveLength(8)
    expect(units[0]!.processor.metrics.deadLetters.get('TRIB_TRANSFORM_TIMEOUT')).toBe(2)

    // The validity SLO's counts survive a restart of the process (here: new runnables).
    const again = await createRunnables(runtime, [eta], { lake: false })
    expect(again[0]!.processor.lifetime()).toEqual({ recordsIn: 10, deadLetters: 2 })
    await base.log.append(ticks('eta', 10, 12))
    await runProducts(again, { untilIdle: true })
    expect(again[0]!.processor.lifetime()).toEqual({ recordsIn: 12, deadLetters: 2 })
  })

  it('records the lake cannot hold become dead letters in the product DLQ table, once, even across a failed commit', async () => {
    const fields = [
      { name: 'id', type: 'long' },
      { name: 'note', type: 'string' },
      { name: 'amount', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 }], default: null },
    ]
    // Partitioned: rows take the canonical (row) path, where the table's types are checked per value.
    const theta = writeProduct(products, 'theta', { fields, snapshot: '{ mode: upsert, partitionBy: { bucket: 2 }, commit: { interval: 1h } }' })
    await base.log.ensureTopic('theta.in', { partitions: 1 })
    await base.log.append(ticks('theta', 0, 5))
    const units = await createRunnables(runtime, [theta])
    await runProducts(units, { untilIdle: true })
    // Two records on the output topic that the table cannot hold: bytes that are not Avro at all,
    // and a decimal(4,2) of 5 digits (123.45: Avro carries it, Iceberg's decimal(4,2) cannot).
    const { id } = await base.registry.register('theta.out-value', { type: 'record', name: 'Tick', namespace: 'tests.theta', fields })
    // id 7 (zigzag 14), note 'seven' (length 5: zigzag 10), amount: union branch 1, 2 bytes 0x3039 = 12345.
    const body = Buffer.from([14, 10, ...Buffer.from('seven'), 2, 4, 0x30, 0x39])
    const [garbage, wide] = await base.log.append([
      { topic: 'theta.out', key: null, value: Buffer.from('{"not": "avro"}') },
      { topic: 'theta.out', key: null, value: frame(id, body) },
    ])
    const at = (p: { partition: number; offset: number }) => `${p.partition}@${p.offset}`
    // First attempt: the snapshot commit fails for good after the dead letters were written.
    fault = (root, op, p) => (root.includes('/theta/out') && op === 'createExclusive' && !p.endsWith('v1.metadata.json') ? new TributaryError('TRIB_LAKE_ACCESS_DENIED', 'injected: commit refused') : undefined)
    const failed = await runProducts(await createRunnables(runtime, [theta]), { untilIdle: true, restart: fast }).then(
      () => undefined,
      (e: unknown) => e as TributaryError,
    )
    expect(failed?.message).toMatch(/product theta stopped \(theta\.out\)/)
    fault = undefined
    await runProducts(await createRunnables(runtime, [theta]), { untilIdle: true })
    const letters = (await readTopic(base.log, 'theta.dlq')).filter((r) => r.headers[dlqHeaders.stage]?.toString() === 'sink')
    expect(letters.map((r) => [r.headers[dlqHeaders.code]!.toString(), `${r.headers[dlqHeaders.partition]}@${r.headers[dlqHeaders.offset]}`])).toEqual([
      ['TRIB_DECODE_MAGIC', at(garbage!)],
      ['TRIB_LAKE_ROW_INVALID', at(wide!)],
    ])
    expect(letters[1]!.headers[dlqHeaders.message]!.toString()).toMatch(/field amount/)
    expect(letters[1]!.headers[dlqHeaders.message]!.toString()).not.toMatch(/row \d/)
    const tables = await lakeTables(base.catalog)
    const dlqRows = await runQuery(base.catalog, tables, "SELECT error_code, error_stage, source_partition || '@' || source_offset FROM theta.dlq WHERE error_stage = 'sink' ORDER BY error_code", {})
    expect(dlqRows.rows.map((r) => r.map(String))).toEqual([
      ['TRIB_DECODE_MAGIC', 'sink', at(garbage!)],
      ['TRIB_LAKE_ROW_INVALID', 'sink', at(wide!)],
    ])
    expect(await rowsOf('theta.out')).toBe(5)
  })
})

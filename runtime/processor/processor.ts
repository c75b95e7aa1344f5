import path from 'node:path'
import { nextOffsets, type Consumer, type Log, type LogRecord, type OutgoingRecord, type PartitionOffset } from '../log/log.ts'
import { loadTransform, type Product } from '../product/load.ts'
import type { InputRecord, OutputRecord, TransformContext, TransformModule } from '../product/transform.ts'
import type { Codec, PathCount } from '../codec/index.ts'
import { StateDb, type StateStores } from '../state/db.ts'
import { PartitionedState } from '../state/kv.ts'
import { TributaryError, messageOf } from '../errors.ts'
import { moduleLogger, type Logger } from '../logger.ts'
import { compileContract, type ContractCheck } from './contract.ts'
import { portDecoder, type PortDecoder } from './decode.ts'
import { DLQ_MAX_RECORD_BYTES, deadLetter, stageOf, type Stage } from '../log/dead-letters.ts'
import { ProductMetrics } from '../observability/metrics.ts'
import type { SloCounts, SloFigures } from '../observability/slo.ts'
import { parseDuration } from '../util/duration.ts'
import { CallDeadline } from './deadline.ts'
import { PortEncoder, SchemaChange } from './encode.ts'
import type { PiiAction } from './policy.ts'
import { RecordState } from './record-state.ts'
import type { Runtime } from '../runtime.ts'
import type { ProcessorRunnable } from './runnable.ts'
import { TablePort } from './table-port.ts'
import { isTruncate } from '../log/change-headers.ts'
import { pushAll } from '../util/arrays.ts'

export interface ProcessorOptions {
  /** The transform; when absent it is loaded from the product folder at the first start. */
  module?: TransformModule
  log: Log
  codec: Codec
  /** Root of local state; the product's store lives in `<stateDir>/<product>/<thread>`. */
  stateDir: string
  /** This processor's share of the product's partitions when several stream threads run it. */
  member?: { index: number; count: number }
  piiSalt: string
  /** How long one poll waits for records when the inputs are idle. */
  pollWaitMs?: number
  /** Where the validity SLO's counts persist (stream threads leave it to the main thread). */
  figures?: SloFigures
  /** Opens the product's stores in a folder; default LMDB (StateDb.open). */
  openState?: (dir: string) => StateStores
}

/** What a processor takes from the runtime it runs in (this thread's, or a stream thread's own). */
export const runtimeOptions = (runtime: Runtime): Pick<ProcessorOptions, 'log' | 'codec' | 'stateDir' | 'piiSalt'> => ({
  log: runtime.log,
  codec: runtime.codec,
  stateDir: runtime.stateDir,
  piiSalt: runtime.config.pii.salt,
})

/** Thrown inside a batch when a stop cannot wait for a pending transform call: the batch is not committed. */
const ABANDONED = Symbol('batch abandoned')

interface OutputPort {
  encoder: PortEncoder
  emitted: number
}

interface StreamPort {
  decoder: PortDecoder
  check: ContractCheck
  /** Records received in the current batch, added to the metrics once per batch. */
  received: number
}

/** Output topics with their partition counts, and the dead-letter topic (one partition keeps its order). */
export async function ensureOutputs(product: Product, log: Log): Promise<void> {
  for (const port of product.outputs) await log.ensureTopic(port.spec.topic, { partitions: port.spec.partitions })
  await log.ensureTopic(product.dlqTopic, { partitions: 1, maxMessageBytes: DLQ_MAX_RECORD_BYTES })
}

/**
 * Runs one data product: consume its stream ports as consumer group `<product>`, decode, validate,
 * transform, encode, and commit outputs, dead letters, state changes and input offsets as one step.
 * Each poll is one batch; records of a partition are handled in offset order, one at a time, so
 * per-key order holds.
 */
export class Processor implements ProcessorRunnable {
  readonly product: Product
  readonly metrics = new ProductMetrics()
  readonly #opts: ProcessorOptions
  #module: TransformModule | undefined
  /** PII policies set through the control port, applied to encoders created later too. */
  readonly #policies = new Map<string, Readonly<Record<string, PiiAction>>>()
  readonly #logger: Logger
  readonly #streams = new Map<string, StreamPort>()
  readonly #tables = new Map<string, TablePort>()
  /** Output ports by name, with the outputs encoded in the current batch (added to the metrics per batch). */
  readonly #encoders = new Map<string, OutputPort>()
  /** Records per codec path in the current batch, added to the metrics per batch. */
  readonly #paths = { decode: { fast: 0, reference: 0 }, encode: { fast: 0, reference: 0 } }
  readonly #count: PathCount = (stage, path) => void this.#paths[stage][path]++
  #db: StateStores | undefined
  #state: PartitionedState | undefined
  #consumer: Consumer | undefined
  #ctx: TransformContext | undefined
  #changelogReady = false
  #recordState: RecordState | undefined
  #lastPollEmpty = false
  #stopRequested = false
  #deadline: CallDeadline | undefined
  #initialized = false
  readonly #timeoutMs: number
  /** The latest commit not waited for (pipelined consumers), and the first commit failure seen. */
  #pending: Promise<void> | undefined
  #commitFailure: { error: unknown } | undefined

  constructor(product: Product, options: ProcessorOptions) {
    this.product = product
    this.#module = options.module
    this.#opts = options
    this.#logger = moduleLogger('processor').child({ product: product.name })
    this.#timeoutMs = parseDuration(product.spec.processing.transformTimeout)!
  }

  get name(): string {
    return this.product.name
  }

  get changelogTopic(): string {
    return `${this.product.name}.changelog`
  }

  /** Creates this product's output topics (so downstream products can start) and registers their schemas. */
  async prepareOutputs(): Promise<void> {
    const { log, codec, piiSalt } = this.#opts
    await ensureOutputs(this.product, log)
    for (const port of this.product.outputs) {
      const encoder = await PortEncoder.create(port, codec, piiSalt, { partitions: (await log.describeTopic(port.spec.topic))?.partitions.length, count: this.#count, addedType: (field) => this.#addedType(field) })
      const pii = this.#policies.get(port.spec.name)
      if (pii) encoder.setPolicy(pii)
      this.#encoders.set(port.spec.name, { encoder, emitted: 0 })
    }
  }

  /** Opens state, checks inputs exist, restores state from its changelog and joins the group. */
  async start(): Promise<void> {
    const { log } = this.#opts
    this.#stopRequested = false
    this.#lastPollEmpty = false
    this.#pending = undefined
    this.#commitFailure = undefined
    this.#deadline = new CallDeadline(this.#timeoutMs)
    // Here rather than at construction, so a transform that does not load stops its product only.
    this.#module ??= await loadTransform(this.product)
    if (this.#encoders.size === 0) await this.prepareOutputs()
    for (const port of this.product.inputs) {
      if (!(await log.describeTopic(port.spec.topic)))
        throw new TributaryError(
          'TRIB_TOPIC_NOT_FOUND',
          `${this.product.specFile}: input port ${port.spec.name} reads topic ${port.spec.topic}, which does not exist`,
          { details: { topic: port.spec.topic, port: port.spec.name } },
        )
    }
    const member = this.#opts.member
    // The consumer first: on Kafka, exactly-once, it fences a killed predecessor and aborts what
    // that one left open, so the changelog restored next is settled.
    const streamTopics = [...new Set(this.product.inputs.filter((p) => p.spec.mode !== 'table').map((p) => p.spec.topic))]
    this.#consumer = log.consumer({
      group: this.product.name,
      topics: streamTopics,
      from: { kind: 'earliest' },
      exactlyOnce: this.product.spec.processing.guarantee === 'exactly-once',
      pipelined: true,
      ...(member ? { member } : {}),
    })
    await this.#consumer.prepare?.()
    // One store per stream thread; a partition that moves between threads is restored from its changelog.
    this.#db = (this.#opts.openState ?? StateDb.open)(path.join(this.#opts.stateDir, this.product.name, String(member?.index ?? 0)))
    this.#state = new PartitionedState(this.#db, this.changelogTopic)
    const restored = await this.#state.restore(log, member)
    if (restored > 0) this.#logger.info({ restored }, 'state restored from changelog')
    this.#changelogReady = (await log.describeTopic(this.changelogTopic)) !== undefined

    for (const port of this.product.inputs) {
      const decoder = portDecoder(port, this.#opts.codec, this.#count)
      if (port.spec.mode === 'table') {
        const table = new TablePort(this.#db, decoder)
        await table.open(log)
        this.#tables.set(port.spec.name, table)
      } else {
        this.#streams.set(port.spec.topic, { decoder, check: compileContract(port.spec.contract?.fields), received: 0 })
      }
    }
    this.#ctx = {
      product: this.product.name,
      lookup: <T>(port: string, key: unknown) => {
        const table = this.#tables.get(port)
        if (!table) throw new TributaryError('TRIB_TRANSFORM_FAILED', `ctx.lookup: ${port} is not a table-mode input port of ${this.product.name}`)
        return table.get(key) as T | undefined
      },
      state: (this.#recordState = new RecordState(this.#state)).api,
      log: this.#logger.child({ module: 'transform' }),
    }
    await this.#catchUpTables()
    // Once per processor, not per restart: a transform's init sets up its module, which lives on.
    if (!this.#initialized) await this.#module.init?.(this.#ctx)
    this.#initialized = true
    this.#logger.info({ inputs: this.product.inputs.map((p) => p.spec.topic) }, 'product started')
  }

  /** True when the last poll found nothing and every input is read to its end. */
  idle(): boolean {
    return this.#lastPollEmpty && (this.#consumer?.caughtUp() ?? false)
  }

  /** Processes one batch. Returns the number of input records handled (0 when idle). */
  async step(maxWaitMs = this.#opts.pollWaitMs ?? 200): Promise<number> {
    const consumer = this.#consumer
    if (!consumer) throw new TributaryError('TRIB_INTERNAL', `product ${this.product.name} is not started`)
    this.#throwCommitFailure()
    const records = await consumer.poll({ maxRecords: this.product.spec.processing.batchSize, maxWaitMs })
    // Stopped while the poll waited (a retired major): what it returned is left unprocessed and
    // uncommitted, and put back, so a stopped product reads nothing more and a resumed run reads it.
    if (this.#stopRequested) {
      for (const o of firstOffsets(records)) consumer.seek(o)
      return 0
    }
    if (records.length === 0) {
      // Idle: what was committed without waiting becomes durable (and its failure surfaces) now.
      await this.flush()
      this.#lastPollEmpty = true
      return 0
    }
    this.#lastPollEmpty = false
    const started = performance.now()
    await this.#catchUpTables()
    await this.#prefetch(records)

    const outputs: OutgoingRecord[] = []
    try {
      for (const record of records) {
        const pending = this.#process(record, outputs)
        if (pending) await pending
      }
    } catch (e) {
      if (e !== ABANDONED) {
        this.#flushCounts()
        throw e
      }
      // Put back: read again on the next start (or step). Its input and output counts are dropped (counted then).
      this.#flushCounts(false)
      this.#state!.abandon()
      for (const o of firstOffsets(records)) consumer.seek(o)
      this.#logger.warn({ records: records.length, graceMs: Math.min(this.#timeoutMs, 5_000) }, 'stopping while a transform call is still pending: the batch is left uncommitted (it is read again on the next start)')
      return 0
    }
    this.#flushCounts()
    await this.#commit(consumer, nextOffsets(records), outputs)
    this.metrics.observeBatch(performance.now() - started)
    this.#opts.figures?.save(this.metrics)
    return records.length
  }

  /** Processes until stopped. A stop request lets the current batch finish and commit. */
  async run(onBatch?: (records: number) => void): Promise<void> {
    // A stop request ends the run in progress; a new run (a resume after a failure) runs again.
    this.#stopRequested = false
    while (!this.#stopRequested) {
      const n = await this.step()
      if (n > 0) onBatch?.(n)
    }
    await this.flush()
  }

  /**
   * Waits until every batch processed so far is committed; throws the first commit failure. A
   * consumer that groups commits (Kafka, see `pipelined`) lets step() return before its batch is
   * committed, so the next batch is read and processed meanwhile.
   */
  async flush(): Promise<void> {
    await this.#consumer?.flush?.()
    await this.#pending
    this.#throwCommitFailure()
  }

  setPolicy(port: string, pii: Readonly<Record<string, PiiAction>>): void {
    if (!this.product.outputs.some((o) => o.spec.name === port)) throw new TributaryError('TRIB_USAGE', `${this.product.name} has no output port ${port}`)
    this.#policies.set(port, pii)
    this.#encoders.get(port)?.encoder.setPolicy(pii)
  }

  requestStop(): void {
    this.#stopRequested = true
    this.#deadline?.stop()
  }

  lifetime(): SloCounts {
    return this.#opts.figures?.total(this.metrics) ?? { recordsIn: ProductMetrics.total(this.metrics.recordsIn), deadLetters: ProductMetrics.total(this.metrics.deadLetters) }
  }

  async close(): Promise<void> {
    this.#stopRequested = true
    this.#deadline?.close()
    this.#deadline = undefined
    const consumer = this.#consumer
    this.#consumer = undefined
    try {
      // The consumer's close commits what is pending; a failure there was already reported by step or flush, or is retried by the next run.
      await consumer?.close()
    } finally {
      for (const t of this.#tables.values()) await t.close().catch(() => undefined)
      this.#tables.clear()
      this.#streams.clear()
      await this.#db?.close()
      this.#db = undefined
      this.#opts.figures?.save(this.metrics, true)
    }
  }

  /**
   * Handles one record. Synchronous unless the transform returns a promise, so a batch of sync
   * transforms costs no promise per record.
   */
  #process(record: LogRecord, outputs: OutgoingRecord[]): Promise<void> | undefined {
    const stream = this.#streams.get(record.topic)!
    stream.received++
    const input = this.#decode(record, stream, outputs)
    if (input === undefined) return undefined
    this.#recordState!.next(record.partition)
    let result: unknown
    try {
      result = this.#module!.transform(input, this.#ctx!)
    } catch (e) {
      return this.#transformFailed(record, input.port, e, outputs)
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function')
      return this.#settle(result as Promise<unknown>, record, input.port, outputs)
    return this.#emit(record, input.port, result, outputs)
  }

  /** An asynchronous call, bounded by processing.transformTimeout (see deadline.ts). */
  async #settle(call: Promise<unknown>, record: LogRecord, port: string, outputs: OutgoingRecord[]): Promise<void> {
    const outcome = await this.#deadline!.wait(call)
    switch (outcome.kind) {
      case 'done':
        return this.#emit(record, port, outcome.value, outputs)
      case 'failed':
        return void this.#transformFailed(record, port, outcome.error, outputs)
      case 'stopped':
        throw ABANDONED
      case 'timeout': {
        // The call may still run: its ctx.state is revoked so nothing it does later lands in another record.
        this.#recordState!.discard()
        this.#recordState!.renew()
        this.#ctx = { ...this.#ctx!, state: this.#recordState!.api }
        const where = `${record.topic}/${record.partition}@${record.offset}`
        const error = new TributaryError('TRIB_TRANSFORM_TIMEOUT', `the transform did not settle within ${this.product.spec.processing.transformTimeout} for ${where}; its late result is ignored`, {
          details: { topic: record.topic, partition: record.partition, offset: record.offset },
        })
        this.#logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, timeout: this.product.spec.processing.transformTimeout }, 'transform call timed out: its record is a dead letter')
        this.#deadLetter(record, port, 'transform', error, outputs)
      }
    }
  }

  /** Decode, resolve and validate; a failure becomes a dead letter and returns undefined. */
  #decode(record: LogRecord, stream: StreamPort, outputs: OutgoingRecord[]): InputRecord | undefined {
    const portName = stream.decoder.port.spec.name
    try {
      const limit = this.product.spec.processing.maxRecordBytes
      if (record.value !== null && record.value.length > limit)
        throw new TributaryError('TRIB_RECORD_TOO_LARGE', `${record.topic}/${record.partition}@${record.offset}: value of ${record.value.length} bytes exceeds ${limit}`)
      const d = stream.decoder.decode(record)
      if (d.value === null) {
        // A tombstone (or a Tributary truncate) carries no row: a no-op for an event stream, counted.
        ProductMetrics.add(this.metrics.skipped, isTruncate(record.headers) ? 'truncate' : 'tombstone')
        return undefined
      }
      // A delete carries only the row as it was (often just its key), a truncate no row at all:
      // contract rules are for live rows, and not for the values the source did not send.
      const violation = d.op === 'd' || d.op === 't' ? undefined : stream.check(d.value, d.unavailable)
      if (violation) throw new TributaryError('TRIB_VALIDATE_RULE', `port ${portName}: ${violation.message}`, { details: { ...violation } })
      const { topic, partition, offset, timestamp, headers } = record
      // One literal per shape (change event or not), rather than adding op/before afterwards.
      if (!d.op) return { port: portName, topic, partition, offset, timestamp, key: d.key, value: d.value, headers }
      const input: InputRecord = { port: portName, topic, partition, offset, timestamp, key: d.key, value: d.value, headers, op: d.op, before: d.before ?? null }
      if (d.unavailable) input.unavailable = d.unavailable
      if (d.previousKey !== undefined) input.previousKey = d.previousKey
      return input
    } catch (e) {
      this.#deadLetter(record, portName, stageOf(e), e, outputs)
      return undefined
    }
  }

  #transformFailed(record: LogRecord, port: string, e: unknown, outputs: OutgoingRecord[]): undefined {
    this.#recordState!.discard()
    this.#deadLetter(record, port, 'transform', new TributaryError('TRIB_TRANSFORM_FAILED', `transform threw: ${messageOf(e)}`, { cause: e }), outputs)
    return undefined
  }

  /** The type of a field a stream input port added under evolution: additive (the first port that has it). */
  #addedType(field: string): unknown {
    for (const stream of this.#streams.values()) {
      const type = stream.decoder.added?.get(field)
      if (type !== undefined) return type
    }
    return undefined
  }

  /**
   * All outputs of one input encode, or the input goes to the dead-letter topic with none of them.
   * An output whose port's schema evolves first (SchemaChange) makes this asynchronous once.
   */
  #emit(record: LogRecord, port: string, result: unknown, outputs: OutgoingRecord[]): Promise<void> | undefined {
    const start = outputs.length
    let single: OutputPort | undefined
    try {
      // One output (the common case) needs no list around it.
      if (Array.isArray(result)) for (const out of result) this.#encodeOne(out, record, outputs)
      else if (result !== undefined && result !== null) single = this.#encodeOne(result, record, outputs)
    } catch (e) {
      outputs.length = start
      if (e instanceof SchemaChange)
        return e.apply().then(
          () => this.#emit(record, port, result, outputs),
          (failure: unknown) => {
            // A registry that cannot be reached fails the batch (retried); a refused version is this record's.
            if (!(failure instanceof TributaryError) || failure.retriable) throw failure
            this.#recordState!.discard()
            this.#deadLetter(record, port, 'encode', failure, outputs)
          },
        )
      this.#recordState!.discard()
      const stage = e instanceof TributaryError && e.code !== 'TRIB_ENCODE_FAILED' && e.code !== 'TRIB_VALIDATE_RULE' ? 'transform' : 'encode'
      this.#deadLetter(record, port, stage, e, outputs)
      return undefined
    }
    this.#recordState!.keep()
    // Counted only once every output of the input encoded.
    if (single) single.emitted++
    else if (Array.isArray(result)) for (const out of result as OutputRecord[]) this.#encoders.get(out.port)!.emitted++
    return undefined
  }

  #encodeOne(out: unknown, record: LogRecord, outputs: OutgoingRecord[]): OutputPort {
    const port = out && typeof out === 'object' ? this.#encoders.get((out as OutputRecord).port) : undefined
    if (!port)
      throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `transform returned an output for unknown port ${JSON.stringify((out as OutputRecord)?.port)}`)
    if ((out as OutputRecord).truncate === true) pushAll(outputs, port.encoder.truncate(out as OutputRecord, record.timestamp))
    else outputs.push(port.encoder.encode(out as OutputRecord, record.timestamp))
    return port
  }

  /** Per-batch counts into the metrics (`keep` false: dropped): one map update per port and batch, not per record. */
  #flushCounts(keep = true): void {
    for (const stream of this.#streams.values()) {
      if (keep && stream.received > 0) ProductMetrics.add(this.metrics.recordsIn, stream.decoder.port.spec.name, stream.received)
      stream.received = 0
    }
    for (const [name, port] of this.#encoders) {
      if (keep && port.emitted > 0) ProductMetrics.add(this.metrics.recordsOut, name, port.emitted)
      port.emitted = 0
    }
    for (const stage of ['decode', 'encode'] as const) {
      for (const path of ['fast', 'reference'] as const) {
        if (this.#paths[stage][path] > 0) ProductMetrics.add(this.metrics.codecPaths, `${stage}/${path}`, this.#paths[stage][path])
        this.#paths[stage][path] = 0
      }
    }
  }

  #deadLetter(record: LogRecord, port: string, stage: Stage, error: unknown, outputs: OutgoingRecord[]): void {
    outputs.push(deadLetter(this.product.dlqTopic, record, stage, port, error))
    ProductMetrics.add(this.metrics.deadLetters, error instanceof TributaryError ? error.code : 'TRIB_TRANSFORM_FAILED')
    this.#logger.debug({ err: messageOf(error), stage, topic: record.topic, partition: record.partition, offset: record.offset }, 'dead letter')
  }

  async #commit(consumer: Consumer, offsets: PartitionOffset[], outputs: OutgoingRecord[]): Promise<void> {
    const state = this.#state!
    if (state.dirty && !this.#changelogReady) {
      const partitions = Math.max(
        1,
        ...(await Promise.all([...this.#streams.keys()].map(async (t) => (await this.#opts.log.describeTopic(t))?.partitions.length ?? 1))),
      )
      await this.#opts.log.ensureTopic(this.changelogTopic, { partitions })
      this.#changelogReady = true
    }
    if (!state.dirty) {
      const commit = consumer.commit({ offsets, records: outputs })
      if (consumer.flush === undefined) await commit
      else
        this.#pending = commit.then(
          () => undefined,
          (e: unknown) => void (this.#commitFailure ??= { error: e }),
        )
      return
    }
    // State changes reach the local store only once committed: this batch is waited for.
    const commit = consumer.commit({ offsets, records: [...outputs, ...state.changelog()] })
    try {
      await consumer.flush?.()
      state.committed(await commit)
    } catch (e) {
      state.abandon()
      throw e
    }
  }

  /** Throws a pipelined commit's failure once: the supervisor then resumes or restarts the processor. */
  #throwCommitFailure(): void {
    const failure = this.#commitFailure
    if (failure === undefined) return
    this.#commitFailure = undefined
    throw failure.error
  }

  /** Loads the batch's writer schemas. Unknown ids become per-record dead letters (the codec keeps them as such); any other failure (registry unreachable, refused credentials) stops the batch, to be retried. */
  async #prefetch(records: LogRecord[]): Promise<void> {
    const ids = new Set<number>()
    for (const r of records) this.#streams.get(r.topic)?.decoder.schemaIds(r, ids)
    if (ids.size > 0) await this.#opts.codec.prefetch(ids)
  }

  async #catchUpTables(): Promise<void> {
    for (const table of this.#tables.values()) {
      await table.catchUp(this.#opts.codec, this.product.dlqTopic, async (dead) => {
        await this.#opts.log.append(dead)
        ProductMetrics.add(this.metrics.deadLetters, 'table', dead.length)
      })
    }
  }
}

/** The first offset of each partition in a batch: where to seek to read it again. */
function firstOffsets(records: readonly LogRecord[]): PartitionOffset[] {
  const first = new Map<string, PartitionOffset>()
  for (const r of records) if (!first.has(`${r.topic}\u0000${r.partition}`)) first.set(`${r.topic}\u0000${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset })
  return [...first.values()]
}

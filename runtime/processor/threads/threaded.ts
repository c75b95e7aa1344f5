import { Worker } from 'node:worker_threads'
import { TributaryError, isTributaryError, type ErrorCode } from '../../errors.ts'
import { ProductMetrics } from '../../observability/metrics.ts'
import type { SloCounts, SloFigures } from '../../observability/slo.ts'
import type { Product } from '../../product/load.ts'
import type { Runtime } from '../../runtime.ts'
import type { PiiAction } from '../policy.ts'
import type { ProcessorRunnable } from '../runnable.ts'
import type { FromThread, MetricsSnapshot, ToThread } from './protocol.ts'

const entry = new URL('./entry.js', import.meta.url)

interface Thread {
  worker: Worker
  pending: { resolve: (m: FromThread) => void; reject: (e: unknown) => void } | undefined
  metrics: MetricsSnapshot | undefined
  idle: boolean
  closed?: boolean
  onProgress?: () => void
}

/**
 * A product run by several stream threads (like Kafka Streams' num.stream.threads): thread i of n
 * owns the input partitions p with p % n === i, with its own consumer, state store and commits.
 * Each thread's commits are atomic over its partitions, so exactly-once holds per thread. The
 * threads are one runnable for the supervisor: when one fails, the others stop too, and a restart
 * starts them all again (each from its last commit).
 */
export class ThreadedProcessor implements ProcessorRunnable {
  readonly product: Product
  readonly #runtime: Runtime
  readonly #count: number
  readonly #figures: SloFigures
  #threads: Thread[] = []
  /** Counts of threads closed before (a restart starts new threads at zero). */
  readonly #before = new ProductMetrics()

  constructor(product: Product, runtime: Runtime, count: number, figures: SloFigures) {
    this.product = product
    this.#runtime = runtime
    this.#count = count
    this.#figures = figures
  }

  get name(): string {
    return this.product.name
  }

  get metrics(): ProductMetrics {
    const m = new ProductMetrics()
    m.merge(this.#before.snapshot())
    for (const t of this.#threads) if (t.metrics) m.merge(t.metrics)
    return m
  }

  lifetime(): SloCounts {
    return this.#figures.total(this.metrics)
  }

  async start(): Promise<void> {
    this.#threads = []
    for (let index = 0; index < this.#count; index++) {
      const thread: Thread = { worker: new Worker(entry), pending: undefined, metrics: undefined, idle: false }
      thread.worker.on('message', (m: FromThread) => this.#receive(thread, m))
      thread.worker.on('error', (e) => this.#fail(thread, e))
      thread.worker.on('exit', (code) => this.#fail(thread, new TributaryError('TRIB_INTERNAL', `stream thread of ${this.name} exited (${code})`)))
      this.#threads.push(thread)
    }
    await this.#all((t, index) => this.#request(t, { type: 'start', productDir: this.product.dir, config: this.#runtime.config, member: { index, count: this.#count } }))
  }

  /** With maxWaitMs 0, each thread drains what is available on its own (no lock-step between threads). */
  async step(maxWaitMs = 200): Promise<number> {
    const msg: ToThread = maxWaitMs === 0 ? { type: 'drain' } : { type: 'step', maxWaitMs }
    const replies = await this.#all((t) => this.#request(t, msg))
    this.#figures.save(this.metrics)
    return replies.reduce((n, r) => n + (r.type === 'stepped' ? r.records : 0), 0)
  }

  idle(): boolean {
    return this.#threads.every((t) => t.idle)
  }

  /** Every thread processes on its own until requestStop; progress reports call onBatch. */
  async run(onBatch?: (records: number) => void): Promise<void> {
    await this.#all((t) => {
      t.onProgress = () => {
        this.#figures.save(this.metrics)
        onBatch?.(0)
      }
      return this.#request(t, { type: 'run' })
    })
  }

  requestStop(): void {
    for (const t of this.#threads) if (!t.closed) t.worker.postMessage({ type: 'stop' } satisfies ToThread)
  }

  /** Sent without waiting for a reply: threads apply it between records, even while running. */
  setPolicy(port: string, pii: Readonly<Record<string, PiiAction>>): void {
    for (const t of this.#threads) if (!t.closed) t.worker.postMessage({ type: 'policy', port, pii: { ...pii } } satisfies ToThread)
  }

  /** Closes every thread; their counts stay readable. */
  async close(): Promise<void> {
    const threads = this.#threads.filter((t) => !t.closed)
    for (const t of threads) t.closed = true
    await Promise.all(
      threads.map(async (t) => {
        try {
          // A thread still answering an earlier request (it failed while others ran) is terminated.
          if (!t.pending) await this.#request(t, { type: 'close' })
        } catch {
          // Its failure was reported where it happened.
        } finally {
          t.worker.removeAllListeners('exit')
          await t.worker.terminate()
        }
      }),
    )
    for (const t of threads) if (t.metrics) this.#before.merge(t.metrics)
    this.#threads = []
    this.#figures.save(this.#before, true)
  }

  /**
   * The same request to every thread; when one fails, the others are asked to stop, and once they
   * have, the first failure is thrown.
   */
  async #all(request: (t: Thread, index: number) => Promise<FromThread>): Promise<FromThread[]> {
    const results = await Promise.allSettled(
      this.#threads.map((t, i) =>
        request(t, i).catch((e: unknown) => {
          this.requestStop()
          throw e
        }),
      ),
    )
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    return results.map((r) => (r as PromiseFulfilledResult<FromThread>).value)
  }

  #request(t: Thread, msg: ToThread): Promise<FromThread> {
    if (t.pending) return Promise.reject(new TributaryError('TRIB_INTERNAL', `stream thread of ${this.name} is busy`))
    return new Promise((resolve, reject) => {
      t.pending = { resolve, reject }
      t.worker.postMessage(msg)
    })
  }

  #receive(t: Thread, m: FromThread): void {
    if ('metrics' in m) t.metrics = m.metrics
    if (m.type === 'progress') {
      t.onProgress?.()
      return
    }
    if (m.type === 'stepped') t.idle = m.idle
    const pending = t.pending
    t.pending = undefined
    if (m.type === 'failed') pending?.reject(new TributaryError(m.code as ErrorCode, m.message))
    else pending?.resolve(m)
  }

  #fail(t: Thread, e: unknown): void {
    const pending = t.pending
    t.pending = undefined
    pending?.reject(isTributaryError(e) ? e : new TributaryError('TRIB_INTERNAL', `stream thread of ${this.name} failed: ${String(e)}`, { cause: e }))
  }
}

import { setTimeout as sleep } from 'node:timers/promises'
import { messageOf, type ErrorCode, type TributaryError } from '../errors.ts'
import { moduleLogger } from '../logger.ts'
import { backoffDelay } from '../util/retry.ts'
import { asTributaryError, decide, defaultRestartPolicy, UNTIL_IDLE_MAX_RESTARTS, type RestartPolicy } from './restart.ts'
import type { Runnable } from './runnable.ts'

const logger = moduleLogger('supervisor')

/** One product's runnables: its processor and its sinks. A product stops as a whole. */
export interface SupervisedProduct {
  readonly name: string
  readonly runnables: readonly Runnable[]
}

/** Why a runnable stopped or is restarting. */
export interface Failure {
  runnable: string
  code: ErrorCode
  message: string
  at: number
}

export interface ProductStatus {
  product: string
  /**
   * `starting` until each runnable has started once; `stopped` after a failure no restart fixes;
   * `retired` once asked to stop for good (a retired major, see retire()).
   */
  state: 'starting' | 'running' | 'stopped' | 'retired'
  stopped?: Failure
  /** Runnables waiting out a restart's backoff, and why. */
  restarting: Failure[]
}

export interface RestartCount {
  product: string
  runnable: string
  code: string
  count: number
}

export interface SuperviseOptions {
  /** Drain in waves, in the order given, until nothing moves (`run --until-idle`); else run until the signal. */
  untilIdle?: boolean
  signal?: AbortSignal
  onBatch?: (runnable: Runnable, records: number) => void
  onStarted?: (runnable: Runnable) => void
}

interface Member {
  readonly runnable: Runnable
  readonly product: Entry
  /** start() was called and close() not yet: resources may be held. */
  open: boolean
  started: boolean
  everStarted: boolean
  restarting: Failure | undefined
  /** Restarts in a row; reset once the runnable ran for `healthyAfterMs`. */
  consecutive: number
  lastRestartAt: number
}

interface Entry {
  readonly name: string
  readonly members: Member[]
  stopped: Failure | undefined
  error: TributaryError | undefined
  retired: boolean
  /** Aborted when the product stops: wakes its runnables waiting out a backoff. */
  readonly halt: AbortController
}

/**
 * Runs every product's runnables and keeps them running: a failure whose error is retriable
 * restarts that runnable (or resumes it: restart.ts decides) after the runtime's capped, jittered
 * backoff, counted and logged; any other failure stops that product's runnables only, and the
 * other products keep going. `status()` and `restarts()` say what happened, for readiness and
 * metrics.
 */
export class Supervisor {
  readonly #products: Entry[]
  readonly #members: Member[]
  readonly #policy: RestartPolicy
  readonly #restarts = new Map<string, RestartCount>()
  #untilIdle = false

  constructor(products: readonly SupervisedProduct[], policy: Partial<RestartPolicy> = {}) {
    this.#policy = { ...defaultRestartPolicy, ...policy }
    this.#products = products.map((p) => {
      const entry: Entry = { name: p.name, members: [], stopped: undefined, error: undefined, retired: false, halt: new AbortController() }
      for (const runnable of p.runnables)
        entry.members.push({ runnable, product: entry, open: false, started: false, everStarted: false, restarting: undefined, consecutive: 0, lastRestartAt: 0 })
      return entry
    })
    this.#members = this.#products.flatMap((p) => p.members)
  }

  status(): ProductStatus[] {
    return this.#products.map((p) => ({
      product: p.name,
      state: p.stopped ? 'stopped' : p.retired ? 'retired' : p.members.every((m) => m.everStarted) ? 'running' : 'starting',
      ...(p.stopped ? { stopped: p.stopped } : {}),
      restarting: p.members.flatMap((m) => (m.restarting ? [m.restarting] : [])),
    }))
  }

  restarts(): RestartCount[] {
    return [...this.#restarts.values()]
  }

  /**
   * Stops one product for good, not as a failure (a retired major): its runnables finish the batch
   * in flight, commit and close; the other products keep going.
   */
  retire(product: string): void {
    const p = this.#products.find((e) => e.name === product)
    if (!p || p.retired || p.stopped) return
    p.retired = true
    p.halt.abort()
    for (const m of p.members) {
      m.restarting = undefined
      m.runnable.requestStop()
    }
  }

  /** Products stopped by a failure, with the failure (of the runnable that stopped it) and its error. */
  stopped(): Array<Failure & { product: string; error: TributaryError }> {
    return this.#products.flatMap((p) => (p.stopped && p.error ? [{ product: p.name, ...p.stopped, error: p.error }] : []))
  }

  /**
   * Runs until the signal aborts (each runnable finishes its batch and commits), or with
   * `untilIdle` until every product still running has nothing left to read. Never throws for a
   * product that stopped (see `stopped()`); everything is closed when it returns.
   */
  async run(options: SuperviseOptions = {}): Promise<void> {
    const { signal } = options
    const stop = (): void => {
      for (const p of this.#products) p.halt.abort()
      for (const m of this.#members) m.runnable.requestStop()
    }
    if (signal?.aborted) return
    this.#untilIdle = Boolean(options.untilIdle)
    signal?.addEventListener('abort', stop, { once: true })
    try {
      if (options.untilIdle) await this.#drain(options)
      else await Promise.all(this.#members.map((m) => this.#supervise(m, options)))
    } finally {
      signal?.removeEventListener('abort', stop)
      for (const m of this.#members) await this.#close(m)
      logger.debug('runnables closed')
    }
  }

  /** One runnable, concurrently with the others, until stopped. */
  async #supervise(m: Member, o: SuperviseOptions): Promise<void> {
    try {
      for (;;) {
        if (this.#halted(m, o)) return
        try {
          if (!m.started) await this.#start(m, o)
          // A stop that arrived while it was starting: start() clears a runnable's stop request.
          if (this.#halted(m, o)) return
          await m.runnable.run((n) => o.onBatch?.(m.runnable, n))
          return
        } catch (e) {
          if (this.#halted(m, o)) {
            logger.debug({ runnable: m.runnable.name, err: messageOf(e) }, 'failed while stopping')
            return
          }
          if (!(await this.#recover(m, asTributaryError(e)))) return
        }
      }
    } finally {
      // A stopped product lets go of its consumers and stores at once (another instance may take them).
      if (m.product.stopped || m.product.retired) await this.#close(m)
    }
  }

  /**
   * Starts every runnable (in order), then steps in waves in the given (mesh) order: each runnable
   * drains what it can read now before the next one steps, so a downstream product sees everything
   * its upstream produced from the same input.
   */
  async #drain(o: SuperviseOptions): Promise<void> {
    for (const m of this.#members) {
      while (!m.started && !m.product.stopped && !m.product.retired) {
        if (o.signal?.aborted) return
        try {
          await this.#start(m, o)
        } catch (e) {
          if (o.signal?.aborted) return
          await this.#recover(m, asTributaryError(e))
        }
      }
    }
    for (;;) {
      let moved = 0
      for (const m of this.#members) {
        if (o.signal?.aborted) return
        if (m.product.stopped || m.product.retired) continue
        try {
          if (!m.started) {
            await this.#start(m, o)
            moved++
          }
          for (let n = await m.runnable.step(0); n > 0; n = await m.runnable.step(0)) {
            moved += n
            o.onBatch?.(m.runnable, n)
          }
        } catch (e) {
          if (o.signal?.aborted) return
          // A restarted runnable needs another wave.
          if (await this.#recover(m, asTributaryError(e))) moved++
        }
      }
      if (moved === 0 && this.#members.every((m) => m.product.stopped || m.product.retired || m.runnable.idle())) return
    }
  }

  async #start(m: Member, o: SuperviseOptions): Promise<void> {
    m.open = true
    await m.runnable.start()
    m.started = true
    m.everStarted = true
    m.restarting = undefined
    o.onStarted?.(m.runnable)
  }

  /** Decides after a failure; true when the runnable should go on (after its backoff). */
  async #recover(m: Member, error: TributaryError): Promise<boolean> {
    const decision = decide(error)
    const now = Date.now()
    if (now - m.lastRestartAt >= this.#policy.healthyAfterMs) m.consecutive = 0
    const failure: Failure = { runnable: m.runnable.name, code: error.code, message: messageOf(error), at: now }
    const maxRestarts = this.#policy.maxRestarts ?? (this.#untilIdle ? UNTIL_IDLE_MAX_RESTARTS : Number.POSITIVE_INFINITY)
    if (decision === 'stop' || m.consecutive >= maxRestarts) {
      await this.#stopProduct(m, failure, error, decision === 'stop' ? 'not retriable' : `${m.consecutive} restarts in a row`)
      return false
    }
    m.consecutive++
    m.lastRestartAt = now
    const key = `${m.product.name}\u0000${m.runnable.name}\u0000${error.code}`
    const count = this.#restarts.get(key) ?? { product: m.product.name, runnable: m.runnable.name, code: error.code, count: 0 }
    count.count++
    this.#restarts.set(key, count)
    const wait = backoffDelay(m.consecutive, this.#policy.backoff)
    m.restarting = failure
    logger.warn(
      { product: m.product.name, runnable: m.runnable.name, code: error.code, err: failure.message, restart: m.consecutive, retryInMs: wait },
      decision === 'resume' ? 'runnable failed; resuming from its last commit' : 'runnable failed; restarting it',
    )
    if (decision === 'restart') await this.#close(m)
    try {
      await sleep(wait, undefined, { signal: m.product.halt.signal })
    } catch {
      return false
    }
    // A resumed runnable is running again now; a restarted one once start() succeeds.
    if (decision === 'resume') m.restarting = undefined
    return true
  }

  async #stopProduct(m: Member, failure: Failure, error: TributaryError, why: string): Promise<void> {
    const p = m.product
    p.stopped = failure
    p.error = error
    // Until idle, the caller reports stopped products when the run ends (one line, not two).
    logger[this.#untilIdle ? 'debug' : 'error']({ product: p.name, runnable: failure.runnable, code: failure.code, err: failure.message }, `product stopped (${why}); the other products keep running`)
    p.halt.abort()
    for (const other of p.members) {
      other.restarting = undefined
      other.runnable.requestStop()
    }
    await this.#close(m)
  }

  #halted(m: Member, o: SuperviseOptions): boolean {
    return Boolean(o.signal?.aborted) || m.product.stopped !== undefined || m.product.retired
  }

  async #close(m: Member): Promise<void> {
    if (!m.open) return
    m.open = false
    m.started = false
    try {
      await m.runnable.close()
    } catch (e) {
      logger.warn({ runnable: m.runnable.name, err: messageOf(e) }, 'closing failed')
    }
  }
}

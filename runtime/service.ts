import fs from 'node:fs'
import path from 'node:path'
import type { Product } from './product/load.ts'
import { checkPolicyField } from './product/load.ts'
import { createProcessors, runProcessors } from './processor/runner.ts'
import type { RunnableProduct } from './processor/runnable.ts'
import type { PiiAction } from './processor/policy.ts'
import { piiActions } from './spec/schema.ts'
import { ProductMetrics } from './processor/metrics.ts'
import { SnapshotCompactor } from './compactor/compactor.ts'
import type { Runtime } from './runtime.ts'
import { TributaryError, messageOf } from './errors.ts'
import { moduleLogger } from './logger.ts'
import type { LiveStatus } from './discovery/describe.ts'
import { activeMajors, servedProduct, VersionBook } from './lifecycle/book.ts'
import { VersionWatch } from './lifecycle/watch.ts'

const logger = moduleLogger('service')

export type Policies = Record<string, Record<string, PiiAction>>

/**
 * The product container: its products' processors and compactors, their readiness, live status
 * and PII policies. The HTTP server (runtime/http) is a view of it; `tributary serve` runs both.
 */
export class ProductService {
  readonly runtime: Runtime
  readonly products: readonly Product[]
  readonly #started = new Set<RunnableProduct>()
  readonly #policies = new Map<string, Policies>()
  #runnables: RunnableProduct[] = []
  #failure: string | undefined
  #running: Promise<void> | undefined
  #watch: VersionWatch | undefined
  /** Which majors run and which one each product's plain names serve; current while the service runs. */
  book = new VersionBook()

  constructor(runtime: Runtime, products: readonly Product[]) {
    this.runtime = runtime
    this.products = products
    for (const p of products) this.#policies.set(p.name, this.#loadPolicies(p))
  }

  runnables(): readonly RunnableProduct[] {
    return this.#runnables
  }

  /**
   * A product by its plain name: the major its plain names serve (the promoted one), or `major`
   * when asked for; an instance name (`user-profiles.v2`) names its major too.
   */
  product(name: string, major?: number): Product {
    const byInstance = this.products.find((p) => p.name === name && p.name !== p.base)
    if (byInstance && (major === undefined || major === byInstance.major)) return byInstance
    const found = servedProduct(this.book, this.products, name, major)
    if (!found) {
      const majors = this.products.filter((p) => p.base === name).map((p) => p.major)
      throw new TributaryError(
        'TRIB_PRODUCT_NOT_FOUND',
        majors.length > 0
          ? `${name} has no major ${major ?? '(none is served)'} in this container (it runs ${majors.join(', ')})`
          : `no product named ${name} in this container (it runs ${[...new Set(this.products.map((p) => p.base))].join(', ')})`,
      )
    }
    return found
  }

  /** Starts everything; resolves when the processors stop (signal) or fail. */
  start(signal: AbortSignal): Promise<void> {
    this.#running = (async () => {
      try {
        const { book, active, retired } = await activeMajors(this.runtime.log, this.products)
        this.book = book
        for (const p of retired) logger.warn({ product: p.base, major: p.major }, 'major retired: not started')
        this.#runnables = await createProcessors(this.runtime, active)
        for (const r of this.#runnables) for (const [port, pii] of Object.entries(this.#policies.get(r.name) ?? {})) r.setPolicy?.(port, pii)
        // Keeps the book current for discovery, query and subscriptions, and stops retired majors.
        this.#watch = new VersionWatch(this.runtime.log, book, active, (p) => {
          for (const r of this.#runnables) if (r.product === p) r.requestStop()
        }).start()
        await runProcessors(this.#runnables, { signal, onStarted: (r) => this.#started.add(r) })
      } catch (e) {
        this.#failure = messageOf(e)
        logger.error({ err: this.#failure }, 'processing stopped on an error')
        throw e
      } finally {
        await this.#watch?.stop()
      }
    })()
    return this.#running
  }

  /** Ready when every processor and compactor has started (consumers joined, stores open). */
  readiness(): { ready: boolean; reasons: string[] } {
    if (this.#failure) return { ready: false, reasons: [`failed: ${this.#failure}`] }
    const waiting = this.#runnables.length === 0 ? ['starting: processors not created yet'] : this.#runnables.filter((r) => !this.#started.has(r)).map((r) => `${r.name}: not started (joining its consumer group, opening stores)`)
    return { ready: waiting.length === 0, reasons: waiting }
  }

  live(product: string): LiveStatus | undefined {
    const p = this.#runnables.find((r) => r.name === product && !(r instanceof SnapshotCompactor))
    if (!p) return undefined
    return {
      recordsIn: ProductMetrics.total(p.metrics.recordsIn),
      deadLetters: ProductMetrics.total(p.metrics.deadLetters),
      lastOutputAt: p.metrics.lastCommitAt,
    }
  }

  policies(product: string, major?: number): Policies {
    return this.#policies.get(this.product(product, major).name) ?? {}
  }

  /**
   * Replaces the PII policies of some output ports. Checked against the ports' schemas, applied to
   * records encoded from now on, persisted in the product's state folder, logged with the actor.
   */
  setPolicies(name: string, changes: Policies, actor: string, major?: number): Policies {
    const p = this.product(name, major)
    const product = p.name
    for (const [port, pii] of Object.entries(changes)) {
      const out = p.outputs.find((o) => o.spec.name === port)
      if (!out) throw new TributaryError('TRIB_USAGE', `${product} has no output port ${port} (it has ${p.outputs.map((o) => o.spec.name).join(', ')})`)
      for (const [field, action] of Object.entries(pii)) {
        if (!(piiActions as readonly string[]).includes(action)) throw new TributaryError('TRIB_USAGE', `${port}.${field}: "${String(action)}" is not a PII action (mask, hash or drop)`)
        checkPolicyField(out.schema, field, action, `${product} port ${port} policy`)
      }
    }
    const next = { ...(this.#policies.get(product) ?? {}), ...changes }
    this.#policies.set(product, next)
    for (const r of this.#runnables) if (r.name === product) for (const [port, pii] of Object.entries(changes)) r.setPolicy?.(port, pii)
    fs.mkdirSync(path.dirname(this.#policyFile(product)), { recursive: true })
    fs.writeFileSync(this.#policyFile(product), JSON.stringify(next, null, 2))
    logger.info({ product, actor, changes }, 'PII policy changed')
    return next
  }

  #policyFile(product: string): string {
    return path.join(this.runtime.stateDir, product, 'policies.json')
  }

  /** The spec's policies, overridden by what the control port set before a restart. */
  #loadPolicies(p: Product): Policies {
    const fromSpec: Policies = Object.fromEntries(p.outputs.map((o) => [o.spec.name, { ...(o.spec.policies?.pii ?? {}) }]))
    try {
      return { ...fromSpec, ...(JSON.parse(fs.readFileSync(this.#policyFile(p.name), 'utf8')) as Policies) }
    } catch {
      return fromSpec
    }
  }
}

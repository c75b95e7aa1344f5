import fs from 'node:fs'
import path from 'node:path'
import type { Product } from './product/load.ts'
import { checkPolicyField } from './product/load.ts'
import { createRunnables, supervise, type ProductRunnables } from './runner.ts'
import type { ProcessorRunnable } from './processor/runnable.ts'
import type { PiiAction } from './processor/policy.ts'
import { piiActions } from './spec/schema.ts'
import type { Sink } from './sink/sink.ts'
import type { Supervisor } from './supervisor/supervisor.ts'
import { HeapWatch } from './observability/heap.ts'
import type { Readiness } from './http/probes.ts'
import type { Runtime } from './runtime.ts'
import { TributaryError, messageOf } from './errors.ts'
import { moduleLogger } from './logger.ts'
import type { LiveStatus } from './discovery/describe.ts'
import { activeMajors, servedProduct, VersionBook } from './lifecycle/book.ts'
import { VersionWatch } from './lifecycle/watch.ts'

const logger = moduleLogger('service')

export type Policies = Record<string, Record<string, PiiAction>>

/**
 * The product container: its products' processors and sinks under one supervisor, their
 * readiness, live status and PII policies. The HTTP server (runtime/http) is a view of it;
 * `tributary serve` runs both.
 */
export class ProductService {
  readonly runtime: Runtime
  readonly products: readonly Product[]
  readonly heap: HeapWatch
  readonly #policies = new Map<string, Policies>()
  #units: ProductRunnables[] = []
  #supervisor: Supervisor | undefined
  #failure: string | undefined
  #watch: VersionWatch | undefined
  /** Which majors run and which one each product's plain names serve; current while the service runs. */
  book = new VersionBook()

  constructor(runtime: Runtime, products: readonly Product[]) {
    this.runtime = runtime
    this.products = products
    this.heap = new HeapWatch(runtime.config.heapWatermark)
    for (const p of products) this.#policies.set(p.name, this.#loadPolicies(p))
  }

  processors(): readonly ProcessorRunnable[] {
    return this.#units.map((u) => u.processor)
  }

  sinks(): readonly Sink[] {
    return this.#units.flatMap((u) => u.sinks)
  }

  supervision(): Supervisor | undefined {
    return this.#supervisor
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

  /**
   * Starts every active major (retired ones are not started) and keeps them running until the
   * signal aborts. A product that fails for good stops alone (readiness says which and why); the
   * others, and the HTTP ports, keep going. A major retired while running is stopped by the
   * supervisor (its batch in flight finishes and commits).
   */
  async start(signal: AbortSignal): Promise<void> {
    try {
      const { book, active, retired } = await activeMajors(this.runtime.log, this.products)
      this.book = book
      for (const p of retired) logger.warn({ product: p.base, major: p.major }, 'major retired: not started')
      this.#units = await createRunnables(this.runtime, active)
      for (const u of this.#units) for (const [port, pii] of Object.entries(this.#policies.get(u.product.name) ?? {})) u.processor.setPolicy(port, pii)
      const supervisor = (this.#supervisor = supervise(this.#units))
      // Keeps the book current for discovery, query and subscriptions, and stops retired majors.
      this.#watch = new VersionWatch(this.runtime.log, book, active, (p) => supervisor.retire(p.name)).start()
      await supervisor.run({ signal })
    } catch (e) {
      this.#failure = messageOf(e)
      logger.error({ err: this.#failure }, 'processing stopped on an error')
      throw e
    } finally {
      await this.#watch?.stop()
      this.heap.close()
    }
  }

  /**
   * Ready when every product runs: its processor and sinks started (consumers joined, stores and
   * tables open) and none stopped, and the transport's servers and a remote schema registry answer
   * (a Kafka broker outage is waited out inside the client, and the registry is asked only for
   * schemas not cached yet, so each one's own watch names it). The reasons name what is not,
   * and each product's state is listed (a runnable waiting to be restarted after a retriable
   * failure keeps its product ready).
   */
  readiness(): Readiness {
    if (this.#failure) return { ready: false, reasons: [`failed: ${this.#failure}`] }
    const status = this.#supervisor?.status()
    if (!status) return { ready: false, reasons: ['starting: processors not created yet'] }
    const reasons: string[] = []
    const transport = this.runtime.log.health?.()
    if (transport && !transport.reachable) reasons.push(`transport: ${transport.message}`)
    const registry = this.runtime.registry.health?.()
    if (registry && !registry.reachable) reasons.push(`registry: ${registry.message}`)
    for (const s of status) {
      if (s.state === 'stopped') reasons.push(`${s.product}: stopped by ${s.stopped!.runnable}: ${s.stopped!.code}: ${s.stopped!.message}`)
      else if (s.state === 'starting')
        reasons.push(
          s.restarting.length > 0
            ? `${s.product}: starting; ${s.restarting.map((r) => `${r.runnable} failed (${r.code}: ${r.message}), retrying`).join('; ')}`
            : `${s.product}: starting (joining its consumer group, opening stores and tables)`,
        )
    }
    const products = Object.fromEntries(
      status.map((s) => [
        s.product,
        {
          state: s.state,
          ...(s.stopped ? { stopped: s.stopped } : {}),
          ...(s.restarting.length > 0 ? { restarting: s.restarting } : {}),
        },
      ]),
    )
    return {
      ready: reasons.length === 0,
      reasons,
      products,
      ...(transport && !transport.reachable ? { transport } : {}),
      ...(registry && !registry.reachable ? { registry } : {}),
    }
  }

  live(product: string): LiveStatus | undefined {
    const p = this.#units.find((u) => u.product.name === product)?.processor
    if (!p) return undefined
    const lifetime = p.lifetime()
    return { recordsIn: lifetime.recordsIn, deadLetters: lifetime.deadLetters, lastOutputAt: p.metrics.lastCommitAt }
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
    for (const u of this.#units) if (u.product.name === product) for (const [port, pii] of Object.entries(changes)) u.processor.setPolicy(port, pii)
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

import type { IncomingMessage } from 'node:http'
import type { Config } from '../config/schema.ts'
import { TributaryError } from '../errors.ts'
import type { PiiAction } from '../processor/policy.ts'
import type { Product } from '../product/load.ts'
import { type Authenticator, authenticate, basicAuth, bearerTokens } from './authenticate.ts'
import { CONTROL_PRINCIPAL } from './config.ts'
import { type Audience, type Identity, type Principal, inAudience, nameOf } from './principal.ts'

/**
 * What a route needs from its caller. Routes declare it; the HTTP pipeline checks it before the
 * handler runs, and audits the outcome:
 * - `open`: anyone (health, metrics, the lists of discovery);
 * - `read`: a product's output port (its topic, its table; `dlq` for the dead-letter table);
 * - `control`: changing a product (its policies);
 * - `registry-read` / `registry-write`: the schema registry.
 */
export type Need =
  | { kind: 'open' }
  | { kind: 'read'; product: string; port: string }
  | { kind: 'control'; product: string }
  | { kind: 'registry-read' }
  | { kind: 'registry-write' }

export const OPEN: Need = { kind: 'open' }
export const isWrite = (need: Need): boolean => need.kind === 'control' || need.kind === 'registry-write'

export type Pii = Readonly<Record<string, PiiAction>>

/** Runtime-wide rules; product rules come from each product's `access:` block. */
export interface AccessRules {
  control: Audience
  registryWrite: Audience
  registryRead?: Audience
}

/**
 * Authentication and authorization for every HTTP port: credentials → principal, and whether a
 * principal may do what a route needs. Built once from the configuration (secrets read then), owned
 * by the server that uses it.
 */
export class AccessControl {
  readonly #authenticators: readonly Authenticator[]
  readonly #rules: AccessRules
  readonly #products: ReadonlyMap<string, Product>
  readonly #principals: readonly Principal[]

  constructor(options: { authenticators: readonly Authenticator[]; principals: readonly Principal[]; rules: AccessRules; products?: readonly Product[] }) {
    this.#authenticators = options.authenticators
    this.#principals = options.principals
    this.#rules = options.rules
    this.#products = new Map((options.products ?? []).map((p) => [p.name, p]))
  }

  /** From the runtime configuration: `access.principals` plus `http.controlToken` (the principal `control`). */
  static fromConfig(config: Config, products: readonly Product[] = [], env: NodeJS.ProcessEnv = process.env): AccessControl {
    const { access } = config
    const tokens: Array<{ token: string; principal: Principal }> = []
    const users: Array<{ username: string; password: string; principal: Principal }> = []
    const principals: Principal[] = []
    if (config.http.controlToken) {
      if (access.principals[CONTROL_PRINCIPAL.name])
        throw new TributaryError('TRIB_CONFIG_INVALID', `config access.principals.${CONTROL_PRINCIPAL.name}: the name is taken by http.controlToken's principal`, { details: { path: `access.principals.${CONTROL_PRINCIPAL.name}` } })
      tokens.push({ token: config.http.controlToken, principal: CONTROL_PRINCIPAL })
      principals.push(CONTROL_PRINCIPAL)
    }
    for (const [name, p] of Object.entries(access.principals)) {
      const principal: Principal = Object.freeze({ name, groups: Object.freeze([...p.groups]) })
      principals.push(principal)
      if (p.token) tokens.push({ token: p.token.reveal(`access.principals.${name}.token`, env), principal })
      if (p.basic) users.push({ username: p.basic.username, password: p.basic.password.reveal(`access.principals.${name}.basic.password`, env), principal })
    }
    return new AccessControl({
      authenticators: [bearerTokens(tokens), basicAuth(users)],
      principals,
      rules: { control: access.control, registryWrite: access.registryWrite, ...(access.registryRead ? { registryRead: access.registryRead } : {}) },
      products,
    })
  }

  authenticate(req: IncomingMessage): Identity | 'refused' {
    return authenticate(req, this.#authenticators)
  }

  /** Who may do what the need says; `undefined` for anyone. */
  audience(need: Need): Audience | undefined {
    switch (need.kind) {
      case 'open':
        return undefined
      case 'read':
        return this.#products.get(need.product)?.spec.access?.outputPorts[need.port]?.read
      case 'control':
        return this.#products.get(need.product)?.spec.access?.control ?? this.#rules.control
      case 'registry-read':
        return this.#rules.registryRead
      case 'registry-write':
        return this.#rules.registryWrite
    }
  }

  allows(who: Identity, need: Need): boolean {
    const audience = this.audience(need)
    return audience === undefined || inAudience(audience, who)
  }

  /** Throws TRIB_HTTP_UNAUTHORIZED (401) without a principal, TRIB_HTTP_FORBIDDEN (403) for one without the right. */
  require(who: Identity, need: Need): void {
    if (this.allows(who, need)) return
    if (!who) throw new TributaryError('TRIB_HTTP_UNAUTHORIZED', `${describeNeed(need)} needs a credential: Authorization: Bearer <token>, or Basic`, { details: { need } })
    throw new TributaryError('TRIB_HTTP_FORBIDDEN', `${who.name} may not ${describeNeed(need)}`, { details: { need, principal: who.name } })
  }

  /**
   * The PII a reader sees of a port, applied on the read paths on top of what the port publishes:
   * the first reader policy whose readers include it, else (closed by default) the strictest action
   * each field has in any of them. `undefined` when the port has no reader policies.
   */
  readerPolicy(who: Identity, product: string, port: string): Pii | undefined {
    const variants = this.#products.get(product)?.spec.access?.outputPorts[port]?.readerPolicies
    if (!variants) return undefined
    const match = variants.find((v) => inAudience(v.readers, who))
    return match ? match.pii : strictest(variants.map((v) => v.pii))
  }

  /** Entries of the access lists that name no configured principal or group: likely typos, which nobody matches. */
  unknownAudience(): string[] {
    const names = new Set(this.#principals.map((p) => p.name))
    const groups = new Set(this.#principals.flatMap((p) => p.groups))
    const entries = [...this.#rules.control, ...this.#rules.registryWrite, ...(this.#rules.registryRead ?? []), ...[...this.#products.values()].flatMap((p) => [
      ...(p.spec.access?.control ?? []),
      ...Object.values(p.spec.access?.outputPorts ?? {}).flatMap((a) => [...(a.read ?? []), ...(a.readerPolicies ?? []).flatMap((v) => v.readers)]),
    ])]
    return [...new Set(entries)].filter((e) => e !== '*' && (e.startsWith('group:') ? !groups.has(e.slice(6)) : !names.has(e)))
  }
}

const strength: Record<PiiAction, number> = { mask: 1, hash: 2, drop: 3 }

/** Per field, the action that reveals least: drop over hash over mask. */
export function strictest(policies: readonly Pii[]): Pii {
  const out: Record<string, PiiAction> = {}
  for (const p of policies) for (const [field, action] of Object.entries(p)) if (!out[field] || strength[action] > strength[out[field]]) out[field] = action
  return out
}

export function describeNeed(need: Need): string {
  switch (need.kind) {
    case 'open':
      return 'this route'
    case 'read':
      return need.port === 'dlq' ? `read the dead letters of ${need.product}` : `read ${need.product}.${need.port}`
    case 'control':
      return `change ${need.product}`
    case 'registry-read':
      return 'read the schema registry'
    case 'registry-write':
      return 'write to the schema registry'
  }
}

export { nameOf }

import { Counter, type Registry } from 'prom-client'
import { moduleLogger } from '../logger.ts'
import { type Need, isWrite } from './access.ts'
import { type Identity, nameOf } from './principal.ts'

/** How a request ended, as metrics and audit logs name it. */
export type Outcome = 'ok' | 'unauthenticated' | 'forbidden' | 'client_error' | 'server_error'

export const outcomeOf = (status: number): Outcome =>
  status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'ok'

export interface AuditEntry {
  method: string
  /** The route's pattern (`PUT /products/:name/policies`), or `unmatched`. */
  route: string
  path: string
  need: Need | undefined
  who: Identity | 'refused'
  status: number
  client: string
  /** Why the request was refused or failed. */
  reason?: string
}

/**
 * The audit trail of the HTTP ports: every write and every refused request is logged (module
 * `audit`) with the principal, the route and the outcome; every request is counted in
 * `tributary_http_requests_total{route,outcome}`, and every refusal in
 * `tributary_access_denied_total{route,reason,principal}` (principals come from the configuration,
 * so the label stays bounded). Credentials are never part of an entry.
 */
export class Audit {
  readonly #log = moduleLogger('audit')
  readonly #requests: Counter<'route' | 'outcome'>
  readonly #denied: Counter<'route' | 'reason' | 'principal'>

  constructor(metrics: Registry) {
    this.#requests = new Counter({ name: 'tributary_http_requests_total', help: 'HTTP requests, per route and outcome', labelNames: ['route', 'outcome'], registers: [metrics] })
    this.#denied = new Counter({
      name: 'tributary_access_denied_total',
      help: 'HTTP requests refused for their credentials (401) or their rights (403), per route',
      labelNames: ['route', 'reason', 'principal'],
      registers: [metrics],
    })
  }

  record(e: AuditEntry): void {
    const outcome = outcomeOf(e.status)
    this.#requests.inc({ route: e.route, outcome })
    const principal = e.who === 'refused' ? 'refused-credential' : nameOf(e.who)
    const denied = outcome === 'unauthenticated' || outcome === 'forbidden'
    if (denied) this.#denied.inc({ route: e.route, reason: outcome, principal })
    if (!denied && !(e.need && isWrite(e.need))) return
    const entry = { principal, method: e.method, route: e.route, path: e.path, outcome, status: e.status, client: e.client, ...(e.reason ? { reason: e.reason } : {}) }
    if (denied) this.#log.warn(entry, 'request refused')
    else this.#log.info(entry, outcome === 'ok' ? 'write' : 'write failed')
  }
}

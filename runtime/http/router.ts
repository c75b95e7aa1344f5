import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Need } from '../access/access.ts'
import type { Identity } from '../access/principal.ts'
import { httpError } from './respond.ts'

export interface Request {
  req: IncomingMessage
  res: ServerResponse
  params: Record<string, string>
  query: URLSearchParams
  /** The caller: a principal, or null without credentials. */
  who: Identity
  /** Whether the caller may do what `need` says (needs known only inside a handler: a query's tables). */
  allows(need: Need): boolean
  /** Throws TRIB_HTTP_UNAUTHORIZED / TRIB_HTTP_FORBIDDEN unless the caller may do what `need` says. */
  require(need: Need): void
  /** The JSON body, refused beyond http.maxBodyBytes; `optional` makes an empty body `undefined`. */
  body(options?: { optional?: boolean }): Promise<unknown>
}

export type Handler = (r: Request) => Promise<void> | void

/** Why a path parameter is invalid, or undefined when it is valid. */
export type ParamRule = (value: string) => string | undefined

export interface Route {
  method: string
  /** `/products/:name/policies`: what metrics and the audit log call the route. */
  pattern: string
  parts: string[]
  /** What the caller needs; checked before the handler runs. */
  need: (params: Record<string, string>) => Need
  handler: Handler
}

/** Product and port names as the spec allows them; anything else (dots, slashes, %2e…) is refused. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/
export const productNameRule: ParamRule = (v) => (NAME.test(v) ? undefined : 'is not a valid name (lowercase letters, digits and dashes)')

/**
 * A tiny router: `/products/:name/ports/:port/events`. Every route declares what its caller needs
 * (see runtime/access), and every path parameter is checked by the rule registered for its name
 * before any handler sees it, so no path traversal reaches the lake or the log. A parameter without
 * a rule cannot be declared.
 */
export class Router {
  readonly #routes: Route[] = []
  readonly #rules: Readonly<Record<string, ParamRule>>

  constructor(rules: Readonly<Record<string, ParamRule>>) {
    this.#rules = rules
  }

  add(method: string, pattern: string, need: Need | ((params: Record<string, string>) => Need), handler: Handler): this {
    const parts = pattern.split('/').filter(Boolean)
    for (const p of parts) if (p.startsWith(':') && !this.#rules[p.slice(1)]) throw new Error(`route ${pattern}: no rule for the parameter ${p}`)
    this.#routes.push({ method, pattern, parts, need: typeof need === 'function' ? need : () => need, handler })
    return this
  }

  /** The route and params for a request, or a 404/405/400 error. */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } {
    let segments: string[]
    try {
      segments = pathname.split('/').filter(Boolean).map(decodeURIComponent)
    } catch {
      throw httpError('TRIB_HTTP_BAD_REQUEST', `the path ${pathname} is not valid URL encoding`)
    }
    let allowed = false
    for (const route of this.#routes) {
      if (route.parts.length !== segments.length) continue
      const params: Record<string, string> = {}
      const fits = route.parts.every((p, i) => {
        if (p.startsWith(':')) {
          params[p.slice(1)] = segments[i]!
          return true
        }
        return p === segments[i]
      })
      if (!fits) continue
      if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) {
        allowed = true
        continue
      }
      for (const [k, v] of Object.entries(params)) {
        const why = this.#rules[k]!(v)
        if (why) throw httpError('TRIB_HTTP_BAD_REQUEST', `${k} ${JSON.stringify(v.slice(0, 80))} ${why}`)
      }
      return { route, params }
    }
    if (allowed) throw httpError('TRIB_HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`)
    throw httpError('TRIB_HTTP_NOT_FOUND', `no route ${method} ${pathname}`)
  }
}

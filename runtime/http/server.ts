import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import type { Registry } from 'prom-client'
import { createRegistryHttpHandler, type EmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { describeProduct } from '../catalog/describe.ts'
import { toOdps } from '../catalog/odps.ts'
import { moduleLogger } from '../logger.ts'
import { lakeTables, parseAsOf, runQuery } from '../query/query.ts'
import type { ProductService, Policies } from '../service.ts'
import type { StartupStatus } from '../startup.ts'
import { createMetricsRegistry } from '../observability/prometheus.ts'
import { startPositions, streamEvents } from './events.ts'
import { httpError, readJson, sendError, sendJson } from './respond.ts'
import { Router, type Request } from './router.ts'

const logger = moduleLogger('http')

/**
 * The container's HTTP ports: health, metrics, discovery (products, ODPS), subscriptions to output
 * ports, SQL over the lake, and the control port for PII policies. Plain node:http: every route is
 * a small function, every error a JSON body with a TRIB_ code.
 */
export function createHttpHandler(service: ProductService): http.RequestListener {
  const { config } = service.runtime
  const metrics: Registry = createMetricsRegistry({
    processors: () => service.processors(),
    sinks: () => service.sinks(),
    supervision: () => service.supervision(),
    heap: service.heap,
    log: service.runtime.log,
  })
  const streams = new Map<string, number>()
  const registry = 'versionsOfId' in service.runtime.registry ? createRegistryHttpHandler(service.runtime.registry as EmbeddedRegistry) : undefined
  const baseUrl = (req: IncomingMessage) => `http://${req.headers.host ?? `localhost:${config.http.port}`}`
  const describe = (name: string) => {
    const p = service.product(name)
    return describeProduct(p, service.products, { lakeUri: service.runtime.lakeUri, live: service.live(p.name) })
  }

  const router = new Router()
    .add('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok' }))
    .add('GET', '/readyz', ({ res }) => {
      const r = service.readiness()
      sendJson(res, r.ready ? 200 : 503, r)
    })
    .add('GET', '/metrics', async ({ res }) => {
      const text = await metrics.metrics()
      res.writeHead(200, { 'content-type': metrics.contentType })
      res.end(text)
    })
    // The list needs only the specs; the lake and lineage are read per product on demand.
    .add('GET', '/products', ({ req, res }) => {
      sendJson(res, 200, {
        products: service.products.map(({ name, spec }) => ({
          name,
          domain: spec.domain,
          owner: spec.owner,
          description: spec.description.trim(),
          version: spec.version,
          href: `${baseUrl(req)}/products/${name}`,
        })),
      })
    })
    .add('GET', '/products/:name', async ({ res, params }) => sendJson(res, 200, await describe(params.name!)))
    .add('GET', '/products/:name/odps', async ({ req, res, params }) => sendJson(res, 200, toOdps(await describe(params.name!), baseUrl(req))))
    .add('GET', '/products/:name/ports/:port/events', (r) => subscribe(r))
    .add('POST', '/query', async ({ req, res }) => {
      const body = (await readJson(req, config.http.maxBodyBytes)) as { sql?: unknown; asOf?: unknown; maxRows?: unknown }
      if (typeof body?.sql !== 'string') throw httpError('TRIB_HTTP_BAD_REQUEST', 'expected {"sql": "SELECT …"} (and optionally "asOf", "maxRows")')
      const maxRows = Math.min(typeof body.maxRows === 'number' && body.maxRows > 0 ? body.maxRows : config.http.queryMaxRows, config.http.queryMaxRows)
      const tables = await lakeTables(service.products, service.runtime.lakeUri)
      const result = await runQuery(tables, body.sql, { asOf: parseAsOf(typeof body.asOf === 'string' ? body.asOf : undefined), maxRows, timeoutMs: config.http.queryTimeoutMs })
      sendJson(res, 200, result)
    })
    .add('GET', '/products/:name/policies', ({ res, params }) => sendJson(res, 200, { product: params.name, policies: service.policies(params.name!) }))
    .add('PUT', '/products/:name/policies', async ({ req, res, params }) => {
      const actor = authorize(req)
      service.product(params.name!)
      const body = (await readJson(req, config.http.maxBodyBytes)) as { policies?: unknown }
      const changes = (body && typeof body === 'object' && 'policies' in body ? body.policies : body) as Policies
      if (!changes || typeof changes !== 'object' || Array.isArray(changes) || Object.values(changes).some((v) => !v || typeof v !== 'object' || Array.isArray(v)))
        throw httpError('TRIB_HTTP_BAD_REQUEST', 'expected {"policies": {"<port>": {"<field>": "mask" | "hash" | "drop"}}}')
      sendJson(res, 200, { product: params.name, policies: service.setPolicies(params.name!, changes, actor) })
    })

  /** The control token, compared in constant time; the actor is named by a header, for the audit log. */
  function authorize(req: IncomingMessage): string {
    const expected = config.http.controlToken
    const header = req.headers.authorization
    if (!header?.startsWith('Bearer ')) throw httpError('TRIB_HTTP_UNAUTHORIZED', 'the control port needs "Authorization: Bearer <token>"')
    if (!expected) throw httpError('TRIB_HTTP_FORBIDDEN', 'the control port is closed: no http.controlToken is configured')
    const given = Buffer.from(header.slice(7))
    const want = Buffer.from(expected)
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw httpError('TRIB_HTTP_FORBIDDEN', 'the bearer token is not the control token')
    const actor = req.headers['x-tributary-actor']
    return typeof actor === 'string' && actor.trim() ? actor.trim().slice(0, 100) : `token@${req.socket.remoteAddress ?? 'unknown'}`
  }

  async function subscribe({ req, res, params, query }: Request): Promise<void> {
    const product = service.product(params.name!)
    const port = product.outputs.find((o) => o.spec.name === params.port)
    if (!port) throw httpError('TRIB_HTTP_NOT_FOUND', `${product.name} has no output port ${params.port} (it has ${product.outputs.map((o) => o.spec.name).join(', ')})`)
    const client = req.socket.remoteAddress ?? 'unknown'
    if ((streams.get(client) ?? 0) >= config.http.maxStreamsPerClient)
      throw httpError('TRIB_HTTP_TOO_MANY_STREAMS', `this client already has ${config.http.maxStreamsPerClient} subscriptions open`)
    const lastEventId = req.headers['last-event-id']
    const positions = await startPositions(service.runtime.log, port.spec.topic, query.get('from') ?? undefined, typeof lastEventId === 'string' && lastEventId ? lastEventId : undefined)
    const format = (req.headers.accept ?? '').includes('application/x-ndjson') || query.get('format') === 'ndjson' ? 'ndjson' : 'sse'
    streams.set(client, (streams.get(client) ?? 0) + 1)
    try {
      await streamEvents({ log: service.runtime.log, serde: service.runtime.serde, topic: port.spec.topic, positions, format, res, closed: once(req.socket, 'close').then(() => undefined, () => undefined) })
    } finally {
      const n = (streams.get(client) ?? 1) - 1
      if (n <= 0) streams.delete(client)
      else streams.set(client, n)
    }
  }

  return (req, res) => {
    void handle(req, res)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that goes away mid-response (a closed subscription) is normal, not a crash.
    const ignore = (e: Error) => logger.debug({ err: e.message }, 'client connection error')
    req.on('error', ignore)
    res.on('error', ignore)
    const url = new URL(req.url ?? '/', 'http://localhost')
    try {
      if (registry && (url.pathname === '/registry' || url.pathname.startsWith('/registry/'))) {
        req.url = url.pathname.slice('/registry'.length) + url.search || '/'
        registry(req, res)
        return
      }
      const { handler, params } = router.match(req.method ?? 'GET', url.pathname)
      await handler({ req, res, params, query: url.searchParams })
    } catch (e) {
      if (!res.headersSent) logger.debug({ method: req.method, path: url.pathname, err: (e as Error).message }, 'request refused')
      sendError(res, e)
    }
  }
}

/**
 * What the container answers while it opens its backends: alive (/healthz 200), not ready (/readyz
 * 503 with the attempt and the last failure, which names the broker, endpoint or registry), and
 * TRIB_HTTP_NOT_READY for everything else.
 */
export function startingHandler(status: StartupStatus): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const why = status.lastError
      ? `opening ${status.backends}: attempt ${status.attempt} failed (${status.lastError.code}: ${status.lastError.message}); retrying in ${status.retryInMs} ms`
      : `opening ${status.backends} (attempt ${status.attempt})`
    if (path === '/healthz') sendJson(res, 200, { status: 'starting' })
    else if (path === '/readyz') sendJson(res, 503, { ready: false, reasons: [why] })
    else sendError(res, httpError('TRIB_HTTP_NOT_READY', `not ready: ${why}`))
  }
}

/** Listens and resolves with the bound address. */
export async function listen(server: http.Server, port: number, host: string): Promise<{ url: string; port: number }> {
  server.listen(port, host)
  await once(server, 'listening')
  const address = server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return { url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`, port: bound }
}

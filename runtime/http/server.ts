import http, { type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import type { Registry } from 'prom-client'
import { registryMount, type EmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { type AccessControl, OPEN } from '../access/access.ts'
import { Audit } from '../access/audit.ts'
import { forReader } from '../access/discovery-view.ts'
import { describeProduct } from '../discovery/describe.ts'
import { catalogMount } from '../lake/catalog/rest/server.ts'
import { toOdps } from '../discovery/odps.ts'
import { compilePolicy } from '../processor/policy.ts'
import { lakeTables, parseAsOf, runQuery, type TableAccess } from '../query/query.ts'
import { toSnapshotId, type ScanSelector } from '../lake/index.ts'
import type { ProductService, Policies } from '../service.ts'
import type { StartupStatus } from '../startup.ts'
import { createMetricsRegistry } from '../observability/prometheus.ts'
import { eventIdMajor, startPositions, streamEvents } from './events.ts'
import type { Readiness } from './probes.ts'
import { majorsOf, servedProduct } from '../lifecycle/book.ts'
import { parseMajor } from '../lifecycle/versions.ts'
import { createPipeline, type Mount } from './pipeline.ts'
import { httpError, sendError, sendJson } from './respond.ts'
import { Router, productNameRule, type Request } from './router.ts'

/**
 * The container's HTTP ports: health, metrics, discovery (products, ODPS), subscriptions to output
 * ports, SQL over the lake, the control port for PII policies, the lake as an Iceberg REST catalog
 * under /iceberg, and the embedded registry's REST API under /registry. Plain node:http on one
 * pipeline (runtime/http/pipeline.ts): every route is a small function that declares what its
 * caller needs; every error is a JSON body with a TRIB_ code (the families under /iceberg and
 * /registry answer in their protocols' shapes).
 */
export function createHttpHandler(service: ProductService, access: AccessControl): http.RequestListener {
  const { config } = service.runtime
  const metrics: Registry = createMetricsRegistry({
    processors: () => service.processors(),
    sinks: () => service.sinks(),
    supervision: () => service.supervision(),
    heap: service.heap,
    log: service.runtime.log,
    registry: service.runtime.registry,
  })
  const streams = new Map<string, number>()
  const baseUrl = (req: IncomingMessage) => `http://${req.headers.host ?? `localhost:${config.http.port}`}`
  // ?version=2 asks for one major of a product; without it, a plain name serves the promoted major.
  const majorParam = (query: URLSearchParams): number | undefined => {
    const text = query.get('version')
    if (text === null) return undefined
    const major = parseMajor(text)
    if (major === undefined) throw httpError('TRIB_HTTP_BAD_REQUEST', `version=${JSON.stringify(text.slice(0, 20))}: expected a major version such as 2 or v2`)
    return major
  }
  /** Discovery detail of the ports the caller may not read is left out. */
  const describe = async ({ params, query, allows }: Request) => {
    const p = service.product(params.name!, majorParam(query))
    const d = await describeProduct(p, service.products, { catalog: service.runtime.catalog, live: service.live(p.name) })
    return { ...forReader(d, (port) => allows({ kind: 'read', product: p.name, port })), major: p.major, versions: majorsOf(service.book, service.products, p.base) }
  }

  const router = new Router({ name: productNameRule, port: productNameRule })
    .add('GET', '/healthz', OPEN, ({ res }) => sendJson(res, 200, { status: 'ok' }))
    .add('GET', '/readyz', OPEN, ({ res }) => {
      const r = service.readiness()
      sendJson(res, r.ready ? 200 : 503, r)
    })
    .add('GET', '/metrics', OPEN, async ({ res }) => {
      const text = await metrics.metrics()
      res.writeHead(200, { 'content-type': metrics.contentType })
      res.end(text)
    })
    // The list needs only the specs; the lake and lineage are read per product on demand.
    .add('GET', '/products', OPEN, ({ req, res }) => {
      // One entry per product, under its plain name: the major it serves, and the others beside it.
      const served = [...new Set(service.products.map((p) => p.base))].flatMap((base) => servedProduct(service.book, service.products, base) ?? [])
      sendJson(res, 200, {
        products: served.map(({ base, spec, major }) => ({
          name: base,
          domain: spec.domain,
          owner: spec.owner,
          description: spec.description.trim(),
          version: spec.version,
          major,
          versions: majorsOf(service.book, service.products, base).map((v) => ({ major: v.major, version: v.version, status: v.status })),
          href: `${baseUrl(req)}/products/${base}`,
        })),
      })
    })
    .add('GET', '/products/:name', OPEN, async (r) => sendJson(r.res, 200, await describe(r)))
    .add('GET', '/products/:name/odps', OPEN, async (r) => sendJson(r.res, 200, toOdps(await describe(r), baseUrl(r.req))))
    .add('GET', '/products/:name/ports/:port/events', ({ name, port }) => ({ kind: 'read', product: name!, port: port! }), (r) => subscribe(r))
    // The tables a statement reads are known only from its parse tree: checked in runQuery.
    .add('POST', '/query', OPEN, async (r) => {
      const body = (await r.body()) as { sql?: unknown; asOf?: unknown; maxRows?: unknown }
      if (typeof body?.sql !== 'string') throw httpError('TRIB_HTTP_BAD_REQUEST', 'expected {"sql": "SELECT …"} (and optionally "asOf", "maxRows")')
      const maxRows = Math.min(typeof body.maxRows === 'number' && body.maxRows > 0 ? body.maxRows : config.http.queryMaxRows, config.http.queryMaxRows)
      // The products this container runs only: it does not know the access rules of the others (closed by default).
      const tables = (await lakeTables(service.runtime.catalog, service.book)).filter((t) => service.products.some((p) => p.name === t.product))
      const result = await runQuery(service.runtime.catalog, tables, body.sql, { asOf: asOfOf(body.asOf), maxRows, timeoutMs: config.http.queryTimeoutMs, access: tableAccess(r) })
      sendJson(r.res, 200, result)
    })
    .add('GET', '/products/:name/policies', OPEN, ({ res, params, query }) => sendJson(res, 200, { product: params.name, policies: service.policies(params.name!, majorParam(query)) }))
    .add('PUT', '/products/:name/policies', ({ name }) => ({ kind: 'control', product: name! }), async ({ req, res, params, query, who, body, require }) => {
      // The route checked the plain name; a major of another instance name is checked as that one.
      const target = service.product(params.name!, majorParam(query))
      if (target.name !== params.name) require({ kind: 'control', product: target.name })
      const parsed = (await body()) as { policies?: unknown }
      const changes = (parsed && typeof parsed === 'object' && 'policies' in parsed ? parsed.policies : parsed) as Policies
      if (!changes || typeof changes !== 'object' || Array.isArray(changes) || Object.values(changes).some((v) => !v || typeof v !== 'object' || Array.isArray(v)))
        throw httpError('TRIB_HTTP_BAD_REQUEST', 'expected {"policies": {"<port>": {"<field>": "mask" | "hash" | "drop"}}}')
      // The principal is who the credential proves; X-Tributary-Actor names the person behind a shared one.
      const claimed = req.headers['x-tributary-actor']
      const actor = typeof claimed === 'string' && claimed.trim() ? claimed.trim().slice(0, 100) : who!.name
      sendJson(res, 200, { product: params.name, policies: service.setPolicies(params.name!, changes, actor, majorParam(query)) })
    })

  function tableAccess(r: Request): TableAccess {
    return {
      check: (named) => named.forEach((t) => r.require({ kind: 'read', product: t.product, port: t.port })),
      readable: (t) => r.allows({ kind: 'read', product: t.product, port: t.port }),
      redaction: (t) => access.readerPolicy(r.who, t.product, t.port),
      salt: config.pii.salt,
    }
  }

  async function subscribe(r: Request): Promise<void> {
    const { req, res, params, query } = r
    // A resumed subscription stays on the major its events came from, whichever is promoted now.
    const lastEventId = req.headers['last-event-id']
    const resumeId = typeof lastEventId === 'string' && lastEventId ? lastEventId : (query.get('from') ?? undefined)
    const fromId = eventIdMajor(resumeId)
    const legacy = service.products.find((p) => p.base === params.name && p.major <= 1)?.major
    const product = service.product(params.name!, majorParam(query) ?? (fromId === 'legacy' ? legacy : fromId))
    // The route checked the plain name; a major of another instance name is checked as that one.
    if (product.name !== params.name) r.require({ kind: 'read', product: product.name, port: params.port! })
    const port = product.outputs.find((o) => o.spec.name === params.port)
    if (!port) throw httpError('TRIB_HTTP_NOT_FOUND', `${product.name} has no output port ${params.port} (it has ${product.outputs.map((o) => o.spec.name).join(', ')})`)
    const client = req.socket.remoteAddress ?? 'unknown'
    if ((streams.get(client) ?? 0) >= config.http.maxStreamsPerClient)
      throw httpError('TRIB_HTTP_TOO_MANY_STREAMS', `this client already has ${config.http.maxStreamsPerClient} subscriptions open`)
    const positions = await startPositions(service.runtime.log, port.spec.topic, query.get('from') ?? undefined, typeof lastEventId === 'string' && lastEventId ? lastEventId : undefined)
    const format = (req.headers.accept ?? '').includes('application/x-ndjson') || query.get('format') === 'ndjson' ? 'ndjson' : 'sse'
    const pii = access.readerPolicy(r.who, product.name, port.spec.name)
    streams.set(client, (streams.get(client) ?? 0) + 1)
    try {
      await streamEvents({
        log: service.runtime.log,
        codec: service.runtime.codec,
        topic: port.spec.topic,
        major: product.major,
        positions,
        format,
        res,
        closed: once(req.socket, 'close').then(() => undefined, () => undefined),
        ...(pii ? { redact: compilePolicy(pii, config.pii.salt) } : {}),
      })
    } finally {
      const n = (streams.get(client) ?? 1) - 1
      if (n <= 0) streams.delete(client)
      else streams.set(client, n)
    }
  }

  const mounts: Mount[] = [{ prefix: '', router, sendError }, catalogMount({ catalog: service.runtime.catalog, products: service.products, book: () => service.book, access, s3: config.lake.s3 })]
  if ('versionsOfId' in service.runtime.registry) mounts.push(registryMount(service.runtime.registry as EmbeddedRegistry, '/registry'))
  return createPipeline(mounts, { access, audit: new Audit(metrics), maxBodyBytes: config.http.maxBodyBytes })
}

/** Not ready while the backends open: the attempt and the last failure (naming the broker, endpoint or registry). */
export function startingReadiness(status: StartupStatus): Readiness {
  const why = status.lastError
    ? `opening ${status.backends}: attempt ${status.attempt} failed (${status.lastError.code}: ${status.lastError.message}); retrying in ${status.retryInMs} ms`
    : `opening ${status.backends} (attempt ${status.attempt})`
  return { ready: false, reasons: [why] }
}

/**
 * What the container answers while it opens its backends: alive (/healthz 200), not ready (/readyz
 * 503, see startingReadiness), and TRIB_HTTP_NOT_READY for everything else.
 */
export function startingHandler(status: StartupStatus): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const readiness = startingReadiness(status)
    if (path === '/healthz') sendJson(res, 200, { status: 'starting' })
    else if (path === '/readyz') sendJson(res, 503, readiness)
    else sendError(res, httpError('TRIB_HTTP_NOT_READY', `not ready: ${readiness.reasons[0]}`))
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

/**
 * `asOf` of POST /query: a string as on the CLI, or a snapshot id as a JSON number. A number that
 * is not a safe integer was rounded by the JSON parser (every Java or pyiceberg id is beyond 2^53):
 * refused, never answered with the wrong snapshot.
 */
function asOfOf(v: unknown): ScanSelector {
  if (v === undefined || v === null) return {}
  if (typeof v === 'string') return parseAsOf(v)
  const id = toSnapshotId(v)
  if (id === undefined) throw httpError('TRIB_HTTP_BAD_REQUEST', `asOf ${String(v)} is not an exact snapshot id: send ids beyond 2^53 as strings ("asOf": "3077426638724494123")`)
  return { snapshotId: id }
}

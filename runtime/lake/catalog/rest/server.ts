import { createHash } from 'node:crypto'
import type http from 'node:http'
import { Registry as MetricsRegistry } from 'prom-client'
import { type AccessControl, OPEN } from '../../../access/access.ts'
import { Audit } from '../../../access/audit.ts'
import { TributaryError, isTributaryError, messageOf, type ErrorCode } from '../../../errors.ts'
import { createPipeline, type Mount } from '../../../http/pipeline.ts'
import { sendError, sendJson, statusOf } from '../../../http/respond.ts'
import { Router, productNameRule, type Request } from '../../../http/router.ts'
import { moduleLogger } from '../../../logger.ts'
import type { Product } from '../../../product/load.ts'
import { servedProduct, VersionBook } from '../../../lifecycle/book.ts'
import { schemeOf } from '../../storage.ts'
import type { Catalog } from '../catalog.ts'
import { formatIdentifier, tableId } from '../identifier.ts'
import { decodeNamespace, ENDPOINTS, ERROR_TYPES, NAMESPACE_SEPARATOR, NO_SUCH_NAMESPACE, NO_SUCH_TABLE } from './protocol.ts'

/**
 * The lake served as an Iceberg REST catalog (mounted at /iceberg: the catalog URI is
 * `http://<host>:<port>/iceberg`). Namespaces are the products the server runs, tables their
 * snapshotted output ports and `dlq`. A product's namespace (`["user-profiles"]`) is the major its
 * plain names serve (the promoted one, as the version book says at each request), and each of its
 * majors is a namespace nested under it (`["user-profiles", "v2"]`, `user-profiles.v2` in pyiceberg
 * and DuckDB), retired majors included: their tables stay readable there. It is read-only: Tributary is the only writer of its
 * tables, so every write of the protocol is refused with 403 (see `refuse`), and `GET /v1/config`
 * lists only the endpoints below, so Java clients refuse the others before sending them.
 *
 * Access is the runtime's (runtime/access): reads are open unless the product restricts the port;
 * a table the caller may not read is not listed, and loading it is 401 without credentials, 403
 * for a principal without `read`. A port whose reader policy would hide fields from this caller
 * is refused too (403): a client reads the table's files, which hold every field as published.
 *
 * `metadata` is the metadata file's own text, spliced into the response: every int64 in it (63-bit
 * snapshot ids of other writers included) reaches the client exactly as written.
 */
const log = moduleLogger('iceberg-rest')

export interface CatalogServerOptions {
  catalog: Catalog
  /** The products served (every major loaded); their names are the namespaces. Tables of other namespaces are not served: their access rules are unknown here. */
  products: readonly Product[]
  /** The version book, current (it may be replaced while serving): which major a product's plain name serves. Without it, the lowest major loaded. */
  book?: () => VersionBook
  access: AccessControl
  /** The lake's S3 settings: passed to clients in a table's `config` (endpoint, region, path style; never credentials). */
  s3?: { endpoint?: string | undefined; region: string; forcePathStyle: boolean }
}

/** What `GET /v1/config` lists: the reads, and metrics reports. */
export const SERVED_ENDPOINTS: readonly string[] = [
  ENDPOINTS.listNamespaces,
  ENDPOINTS.loadNamespace,
  ENDPOINTS.namespaceExists,
  ENDPOINTS.listTables,
  ENDPOINTS.loadTable,
  ENDPOINTS.tableExists,
  ENDPOINTS.reportMetrics,
]

/** The protocol's writes, each refused; `:target` stands for any namespace, table or view (never read, so never validated as one). */
const WRITES: ReadonlyArray<[method: string, pattern: string, what: string]> = [
  ['POST', '/v1/namespaces', 'creating a namespace'],
  ['DELETE', '/v1/namespaces/:target', 'dropping a namespace'],
  ['POST', '/v1/namespaces/:target/properties', 'changing namespace properties'],
  ['POST', '/v1/namespaces/:target/tables', 'creating a table'],
  ['POST', '/v1/namespaces/:target/register', 'registering a table'],
  ['POST', '/v1/namespaces/:target/tables/:name', 'committing to a table'],
  ['DELETE', '/v1/namespaces/:target/tables/:name', 'dropping a table'],
  ['POST', '/v1/tables/rename', 'renaming a table'],
  ['POST', '/v1/transactions/commit', 'committing a transaction'],
  ['POST', '/v1/namespaces/:target/views', 'creating a view'],
  ['POST', '/v1/namespaces/:target/views/:name', 'replacing a view'],
  ['DELETE', '/v1/namespaces/:target/views/:name', 'dropping a view'],
  ['POST', '/v1/views/rename', 'renaming a view'],
  ['POST', '/v1/namespaces/:target/register-view', 'registering a view'],
]

/** The level below a product's namespace that names one of its majors. */
const MAJOR = /^v(0|[1-9]\d*)$/

/** An error with the protocol's exception type (what Java's and pyiceberg's clients dispatch on). */
const typed = (code: ErrorCode, type: string, message: string): TributaryError => new TributaryError(code, message, { details: { icebergType: type } })

/** The family's error shape: `{"error": {"message", "type", "code"}}`. */
export function sendIcebergError(res: http.ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const status = statusOf(e)
  const declared = isTributaryError(e) ? e.details.icebergType : undefined
  const type = typeof declared === 'string' ? declared : ((ERROR_TYPES as Record<number, string>)[status] ?? (status >= 500 ? ERROR_TYPES[500] : ERROR_TYPES[400]))
  if (status >= 500) log.error({ err: messageOf(e), code: isTributaryError(e) ? e.code : undefined }, 'catalog request failed')
  sendJson(res, status, { error: { message: messageOf(e), type, code: status } })
}

export function catalogRouter(options: CatalogServerOptions): Router {
  const book = options.book ?? (() => new VersionBook())
  const bases = [...new Set(options.products.map((p) => p.base))].sort()
  const majorsOf = (base: string) => options.products.filter((p) => p.base === base).sort((a, b) => a.major - b.major)
  const anything = (v: string): string | undefined => (v.length > 0 && v.length <= 1000 ? undefined : 'is not a name')
  // A product name, optionally with one level below it: its major (`v2`).
  const namespaceRule = (v: string): string | undefined => {
    const [base, major, ...more] = decodeNamespace(v)
    return productNameRule(base!) ?? (more.length > 0 || (major !== undefined && !MAJOR.test(major)) ? 'is not a product or a product and its major (v<N>)' : undefined)
  }
  const router = new Router({ namespace: namespaceRule, table: productNameRule, target: anything, name: anything })

  /** The product instance whose tables a namespace names: the served major for the plain name, or the named major. */
  const product = (namespace: string): Product => {
    const [base, level] = decodeNamespace(namespace)
    const majors = majorsOf(base!)
    if (majors.length === 0) throw typed('TRIB_HTTP_NOT_FOUND', NO_SUCH_NAMESPACE, `namespace ${base} does not exist: this catalog serves ${bases.join(', ') || 'no product'}`)
    const major = level === undefined ? undefined : Number(MAJOR.exec(level)![1])
    const p = servedProduct(book(), majors, base!, major)
    if (!p) throw typed('TRIB_HTTP_NOT_FOUND', NO_SUCH_NAMESPACE, `namespace ${decodeNamespace(namespace).join('.')} does not exist: ${base} has the majors ${majors.map((m) => `v${m.major}`).join(', ')}`)
    return p
  }
  /** Whether the caller gets the table: it may read the port, and no reader policy hides a field from it. */
  const hiding = (r: Request, ns: string, table: string): string[] => Object.keys(options.access.readerPolicy(r.who, ns, table) ?? {})
  const servable = (r: Request, ns: string, table: string): boolean => r.allows({ kind: 'read', product: ns, port: table }) && hiding(r, ns, table).length === 0
  const requireServable = (r: Request, ns: string, table: string): void => {
    const hidden = hiding(r, ns, table)
    if (hidden.length > 0)
      throw typed('TRIB_HTTP_FORBIDDEN', ERROR_TYPES[403], `${r.who?.name ?? 'anonymous'} reads ${ns}.${table} through a reader policy (${hidden.join(', ')}); its files hold those fields as published, so the table is not served to this reader: use SQL or a subscription`)
  }
  const load = async (ns: string, name: string) => {
    try {
      return await options.catalog.loadTable(tableId(ns, name))
    } catch (e) {
      if (isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw typed('TRIB_LAKE_NOT_FOUND', NO_SUCH_TABLE, `table ${ns}.${name} does not exist`)
      throw e
    }
  }
  const exists = async (ns: string, name: string): Promise<void> => {
    if (!(await options.catalog.tableExists(tableId(ns, name)))) throw typed('TRIB_LAKE_NOT_FOUND', NO_SUCH_TABLE, `table ${ns}.${name} does not exist`)
  }
  // Access is the instance's: a major's rules are in its own spec.
  const tableNeed = ({ namespace, table }: Record<string, string>) => ({ kind: 'read', product: product(namespace!).name, port: table! }) as const
  const open = OPEN

  router.add('GET', '/v1/config', open, ({ res }) => sendJson(res, 200, { defaults: {}, overrides: {}, endpoints: SERVED_ENDPOINTS }))
  // The token endpoint (deprecated by the spec) is not offered: clients send a bearer token.
  router.add('POST', '/v1/oauth/tokens', open, ({ res }) =>
    sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'this catalog issues no tokens: configure the client with a bearer token (token=…)' }),
  )
  router.add('GET', '/v1/namespaces', open, ({ res, query }) => {
    const parent = query.get('parent')
    // Two levels: below a product, its majors; below a major, nothing.
    if (parent) {
      const levels = parent.split(NAMESPACE_SEPARATOR)
      if (levels.length > 2 || namespaceRule(parent) !== undefined) throw typed('TRIB_HTTP_NOT_FOUND', NO_SUCH_NAMESPACE, `namespace ${levels.join('.')} does not exist`)
      product(parent)
      return sendJson(res, 200, { namespaces: levels.length === 1 ? majorsOf(levels[0]!).map((m) => [levels[0]!, `v${m.major}`]) : [] })
    }
    sendJson(res, 200, { namespaces: bases.map((n) => [n]) })
  })
  router.add('HEAD', '/v1/namespaces/:namespace', open, ({ res, params }) => {
    product(params.namespace!)
    res.writeHead(204).end()
  })
  router.add('GET', '/v1/namespaces/:namespace', open, ({ res, params }) => {
    const { name, spec, major } = product(params.namespace!)
    const properties: Record<string, string> = { owner: spec.owner.team, domain: spec.domain, description: spec.description.trim(), version: spec.version, major: String(major), instance: name }
    if (spec.owner.email) properties['owner-email'] = spec.owner.email
    sendJson(res, 200, { namespace: decodeNamespace(params.namespace!), properties })
  })
  router.add('GET', '/v1/namespaces/:namespace/tables', open, async (r) => {
    const ns = product(r.params.namespace!).name
    const ids = await options.catalog.listTables([ns])
    // Listed under the namespace asked for: the client loads them by the same name.
    const asked = decodeNamespace(r.params.namespace!)
    sendJson(r.res, 200, { identifiers: ids.filter((id) => servable(r, ns, id.name)).map((id) => ({ namespace: asked, name: id.name })) })
  })
  router.add('HEAD', '/v1/namespaces/:namespace/tables/:table', tableNeed, async (r) => {
    const ns = product(r.params.namespace!).name
    requireServable(r, ns, r.params.table!)
    await exists(ns, r.params.table!)
    r.res.writeHead(204).end()
  })
  router.add('GET', '/v1/namespaces/:namespace/tables/:table', tableNeed, async (r) => {
    const ns = product(r.params.namespace!).name
    requireServable(r, ns, r.params.table!)
    const table = await load(ns, r.params.table!)
    // Metadata files are immutable: the location names the content.
    const etag = `"${createHash('sha256').update(table.metadataFile).digest('hex').slice(0, 32)}"`
    if (r.req.headers['if-none-match'] === etag) {
      r.res.writeHead(304, { etag }).end()
      return
    }
    const text = (await table.storage.read(table.metadataFile)).toString('utf8').trim()
    const body = `{"metadata-location":${JSON.stringify(table.metadataFile)},"metadata":${text},"config":${JSON.stringify(tableConfig(table.location, options.s3))}}`
    r.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), etag })
    r.res.end(body)
    log.debug({ table: formatIdentifier(table.identifier), who: r.who?.name ?? 'anonymous' }, 'table loaded')
  })
  // Reports are accepted and dropped: Tributary keeps its own read metrics.
  router.add('POST', '/v1/namespaces/:namespace/tables/:table/metrics', tableNeed, async (r) => {
    const ns = product(r.params.namespace!).name
    await exists(ns, r.params.table!)
    await r.body({ optional: true })
    r.res.writeHead(204).end()
  })
  for (const [method, pattern, what] of WRITES) router.add(method, pattern, open, () => refuse(what))
  return router
}

/**
 * 403 ForbiddenException, for everyone: it is listed for every route of the spec, and clients map it
 * to a definite refusal (Java's ForbiddenException, pyiceberg's ForbiddenError), where 405 is not in
 * the spec and 406 (listed for a few routes only) becomes a generic error in Java's client; a
 * refused commit is then never taken for one whose state is unknown.
 */
function refuse(what: string): never {
  throw typed('TRIB_HTTP_FORBIDDEN', ERROR_TYPES[403], `${what} is refused: Tributary is the only writer of its tables, and this catalog serves them read-only`)
}

/** A table's `config` for clients: where its files are (S3 endpoint, region, path style), never credentials. */
function tableConfig(location: string, s3: CatalogServerOptions['s3']): Record<string, string> {
  if (schemeOf(location) !== 's3' || !s3) return {}
  return {
    'client.region': s3.region,
    ...(s3.endpoint ? { 's3.endpoint': s3.endpoint } : {}),
    ...(s3.forcePathStyle ? { 's3.path-style-access': 'true' } : {}),
  }
}

/** The catalog's routes as a family of the runtime's HTTP pipeline, mounted at `prefix`. */
export function catalogMount(options: CatalogServerOptions, prefix = '/iceberg'): Mount {
  return { prefix, router: catalogRouter(options), sendError: sendIcebergError }
}

/**
 * `tributary catalog serve`: the catalog alone, at /iceberg, with /healthz and /metrics (its request
 * counters) beside it, on the same pipeline as the container's ports.
 */
export function createCatalogHttpHandler(options: CatalogServerOptions & { maxBodyBytes: number; metrics?: MetricsRegistry }): http.RequestListener {
  const metrics = options.metrics ?? new MetricsRegistry()
  const root = new Router({})
    .add('GET', '/healthz', OPEN, ({ res }) => sendJson(res, 200, { status: 'ok' }))
    .add('GET', '/metrics', OPEN, async ({ res }) => {
      const text = await metrics.metrics()
      res.writeHead(200, { 'content-type': metrics.contentType })
      res.end(text)
    })
  return createPipeline([catalogMount(options), { prefix: '', router: root, sendError }], { access: options.access, audit: new Audit(metrics), maxBodyBytes: options.maxBodyBytes })
}

import { TributaryError, messageOf } from '../../../runtime/errors.ts'
import type { Catalog } from '../../../runtime/lake/catalog/catalog.ts'
import { formatIdentifier, type Namespace, type TableIdentifier } from '../../../runtime/lake/catalog/identifier.ts'
import type { TableOperations } from '../../../runtime/lake/catalog/operations.ts'
import { ALREADY_EXISTS, DEFAULT_ENDPOINTS, ENDPOINTS, NO_SUCH_NAMESPACE, encodeNamespace, type CatalogConfig } from '../../../runtime/lake/catalog/rest/protocol.ts'
import { checkRequirements, type TableCommit, type TableRequirement } from '../../../runtime/lake/iceberg/commit.ts'
import type { CreateTableRequest } from '../../../runtime/lake/iceberg/create.ts'
import { checkMetadata, type LoadedMetadata } from '../../../runtime/lake/iceberg/metadata.ts'
import type { TableMetadata } from '../../../runtime/lake/iceberg/types.ts'
import type { LakeResources } from '../../../runtime/lake/resources.ts'
import type { LakeStorage } from '../../../runtime/lake/storage.ts'
import { Table, type TableOptions } from '../../../runtime/lake/table.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { NoAnswer, RestHttp, describeAnswer, errorOf, unexpected, type Answer } from './http.ts'

/**
 * A catalog seam implementation over an Iceberg REST catalog (Polaris, Lakekeeper, Nessie, Glue's
 * REST endpoint, Tributary's own): the server keeps the metadata and its versions; Tributary writes
 * data and manifest files at the table's location through the runtime's storage and commits
 * `{requirements, updates}` to `POST …/tables/{table}`.
 *
 * The protocol has no "the base is still current" requirement, while TableOperations promises never
 * to apply a commit on other metadata. So every commit carries, besides its own requirements, the
 * base's uuid, schema, spec, sort order, last assigned ids and every ref (main absent included):
 * a concurrent writer that moved any of them makes the server answer 409 (CommitFailedException),
 * which is "stale base" (undefined: the Table reloads and prepares again). Requirements the commit
 * itself states are first checked against the base, so a failed one is TRIB_LAKE_COMMIT_CONFLICT as
 * with every catalog. A concurrent change of properties alone is not visible to these pins.
 * No answer, 500, 502, 503 or 504 to a commit is TRIB_LAKE_COMMIT_STATE_UNKNOWN, never retried
 * blindly (pyiceberg's and Java's rule).
 */
const log = moduleLogger('catalog')

export interface RestCatalogOptions {
  /** The catalog URI: `/v1/config` is below it. */
  uri: string
  warehouse?: string
  http: RestHttp
}

/** Reads the catalog's configuration (prefix, endpoints) and returns the catalog; fails now when the server cannot be reached or refuses us. */
export async function openRestCatalog(options: RestCatalogOptions, lake: LakeResources, tableOptions: TableOptions = {}): Promise<Catalog> {
  const uri = options.uri.replace(/\/+$/, '')
  const query = options.warehouse ? `?warehouse=${encodeURIComponent(options.warehouse)}` : ''
  const answer = await read(options.http, 'GET', `${uri}/v1/config${query}`, `catalog configuration at ${uri}`)
  if (answer.status !== 200) throw unexpected(`catalog configuration at ${uri}`, answer)
  const config = answer.body as Partial<CatalogConfig> | undefined
  if (!config || typeof config !== 'object') throw unexpected(`catalog configuration at ${uri}`, answer)
  // Defaults, then what the client says (the warehouse), then overrides: the spec's order.
  const props: Record<string, string> = { ...(config.defaults ?? {}), ...(options.warehouse ? { warehouse: options.warehouse } : {}), ...(config.overrides ?? {}) }
  const endpoints = new Set(Array.isArray(config.endpoints) ? config.endpoints : DEFAULT_ENDPOINTS)
  const base = `${uri}/v1${props.prefix ? `/${props.prefix}` : ''}`
  log.info({ uri, warehouse: options.warehouse, prefix: props.prefix }, 'REST catalog opened')
  return new RestCatalog(`${uri}${options.warehouse ? ` (warehouse ${options.warehouse})` : ''}`, base, endpoints, options.http, lake, tableOptions)
}

/** GET or HEAD, with "no answer" turned into TRIB_LAKE_CATALOG_UNAVAILABLE (reads are retried inside). */
async function read(http: RestHttp, method: 'GET' | 'HEAD', url: string, what: string): Promise<Answer> {
  try {
    return await http.send(method, url)
  } catch (e) {
    if (e instanceof NoAnswer) throw new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `${what}: no answer from the REST catalog (${messageOf(e)})`, { cause: e, details: { url } })
    throw e
  }
}

interface LoadTableResult {
  'metadata-location'?: string | null
  metadata?: unknown
}

class RestCatalog implements Catalog {
  constructor(
    readonly uri: string,
    private readonly base: string,
    private readonly endpoints: ReadonlySet<string>,
    private readonly http: RestHttp,
    private readonly lake: LakeResources,
    private readonly tableOptions: TableOptions,
  ) {}

  async listNamespaces(): Promise<Namespace[]> {
    const out: Namespace[] = []
    for await (const page of this.#pages(`${this.base}/namespaces`, 'list namespaces')) {
      const namespaces = (page as { namespaces?: unknown }).namespaces
      if (!Array.isArray(namespaces)) throw new TributaryError('TRIB_LAKE_CATALOG_BAD_RESPONSE', `list namespaces: the answer of ${this.uri} has no namespaces list`)
      for (const namespace of namespaces as string[][]) out.push(namespace)
    }
    return out.sort((a, b) => compare(a.join('\u0000'), b.join('\u0000')))
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const out: TableIdentifier[] = []
    try {
      for await (const page of this.#pages(`${this.#namespaceUrl(namespace)}/tables`, `list tables of ${namespace.join('.')}`)) {
        const ids = (page as { identifiers?: unknown }).identifiers
        if (!Array.isArray(ids)) throw new TributaryError('TRIB_LAKE_CATALOG_BAD_RESPONSE', `list tables: the answer of ${this.uri} has no identifiers list`)
        for (const id of ids as TableIdentifier[]) out.push({ namespace: [...id.namespace], name: id.name })
      }
    } catch (e) {
      // The seam lists an unknown namespace as empty; the protocol answers 404.
      if (e instanceof TributaryError && e.code === 'TRIB_LAKE_NOT_FOUND') return []
      throw e
    }
    return out.sort((a, b) => compare(a.name, b.name))
  }

  async tableExists(id: TableIdentifier): Promise<boolean> {
    // HEAD is optional in the protocol: without it, a load tells.
    const method = this.endpoints.has(ENDPOINTS.tableExists) ? 'HEAD' : 'GET'
    const answer = await read(this.http, method, this.#tableUrl(id), `table ${formatIdentifier(id)}`)
    if (answer.status === 404) return false
    if (answer.status === 200 || answer.status === 204) return true
    throw this.#readError(`table ${formatIdentifier(id)}`, answer)
  }

  async loadTable(id: TableIdentifier): Promise<Table> {
    const ops = new RestTableOperations(id, this.#tableUrl(id), this.http, this.lake)
    const loaded = await ops.current()
    return new Table(ops.bind(await this.lake.storage.open(loaded.metadata.location)), loaded, this.lake, this.tableOptions)
  }

  async createTable(id: TableIdentifier, request: CreateTableRequest): Promise<Table> {
    const body = { name: id.name, schema: request.schema, 'partition-spec': request.spec, properties: { 'write.format.default': 'parquet', ...(request.properties ?? {}) }, 'stage-create': false }
    const what = `create table ${formatIdentifier(id)}`
    let answer = await this.#write('POST', `${this.#namespaceUrl(id.namespace)}/tables`, body, what)
    if (answer.status === 404 && errorOf(answer)?.type === NO_SUCH_NAMESPACE) {
      // A file-system catalog makes the namespace's folder with its first table; so does this one.
      const ns = await this.#write('POST', `${this.base}/namespaces`, { namespace: [...id.namespace], properties: {} }, `create namespace ${id.namespace.join('.')}`)
      if (ns.status !== 200 && ns.status !== 409) throw this.#writeError(`create namespace ${id.namespace.join('.')}`, ns)
      answer = await this.#write('POST', `${this.#namespaceUrl(id.namespace)}/tables`, body, what)
    }
    if (answer.status === 409) throw new TributaryError('TRIB_LAKE_EXISTS', `table ${formatIdentifier(id)} already exists in ${this.uri}`, { details: { table: formatIdentifier(id) } })
    if (answer.status !== 200) throw this.#writeError(what, answer)
    const loaded = loadedOf(answer, `${this.#tableUrl(id)} (created)`)
    const ops = new RestTableOperations(id, this.#tableUrl(id), this.http, this.lake)
    return new Table(ops.bind(await this.lake.storage.open(loaded.metadata.location)), loaded, this.lake, this.tableOptions)
  }

  async close(): Promise<void> {}

  #namespaceUrl(namespace: Namespace): string {
    if (namespace.length === 0 || namespace.some((l) => l === '')) {
      throw new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', `namespace ${JSON.stringify(namespace)}: a REST catalog namespace has one or more non-empty levels`, { details: { namespace } })
    }
    return `${this.base}/namespaces/${encodeNamespace(namespace)}`
  }

  #tableUrl(id: TableIdentifier): string {
    if (id.name === '') throw new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', 'a table name cannot be empty', { details: { table: id.name } })
    return `${this.#namespaceUrl(id.namespace)}/tables/${encodeURIComponent(id.name)}`
  }

  /** Every page of a list, following `next-page-token` when the server paginates. */
  async *#pages(url: string, what: string): AsyncGenerator<object> {
    let token: string | undefined
    for (;;) {
      const answer = await read(this.http, 'GET', token === undefined ? url : `${url}?pageToken=${encodeURIComponent(token)}`, what)
      if (answer.status !== 200 || !answer.body || typeof answer.body !== 'object') throw this.#readError(what, answer)
      yield answer.body
      const next = (answer.body as { 'next-page-token'?: unknown })['next-page-token']
      if (typeof next !== 'string' || next === '') return
      token = next
    }
  }

  async #write(method: string, url: string, body: unknown, what: string): Promise<Answer> {
    try {
      return await this.http.send(method, url, body)
    } catch (e) {
      // Whether it happened is unknown; the caller's next load finds out (a create is never re-sent here).
      if (e instanceof NoAnswer) throw new TributaryError('TRIB_LAKE_CATALOG_UNAVAILABLE', `${what}: no answer from the REST catalog (${messageOf(e)}); reload to learn whether it happened`, { cause: e })
      throw e
    }
  }

  #readError(what: string, answer: Answer): TributaryError {
    if (answer.status === 404) return new TributaryError('TRIB_LAKE_NOT_FOUND', `${what}: not in ${this.uri} (${describeAnswer(answer)})`, { details: { type: errorOf(answer)?.type } })
    if (answer.status === 400) return new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', `${what}: refused by ${this.uri} (${describeAnswer(answer)})`)
    return unexpected(what, answer)
  }

  #writeError(what: string, answer: Answer): TributaryError {
    if (answer.status === 400 || answer.status === 422) return new TributaryError('TRIB_LAKE_INVALID_UPDATE', `${what}: refused by ${this.uri} (${describeAnswer(answer)})`)
    if (answer.status === 404) return new TributaryError('TRIB_LAKE_NOT_FOUND', `${what}: not in ${this.uri} (${describeAnswer(answer)})`)
    if (answer.status === 409 && errorOf(answer)?.type === ALREADY_EXISTS) return new TributaryError('TRIB_LAKE_EXISTS', `${what}: ${describeAnswer(answer)}`)
    return unexpected(what, answer)
  }
}

/** A load-table or commit answer as LoadedMetadata: the metadata checked like a file's (TRIB_LAKE_CORRUPT names the location). */
function loadedOf(answer: Answer, where: string): LoadedMetadata {
  const body = answer.body as LoadTableResult | undefined
  const file = body?.['metadata-location']
  if (typeof file !== 'string' || body?.metadata === undefined) throw new TributaryError('TRIB_LAKE_CATALOG_BAD_RESPONSE', `${where}: the answer has no metadata-location or metadata`)
  return { metadata: checkMetadata(body.metadata, file), file }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** What pins a commit to its base: everything a concurrent commit could move that a requirement can name. */
export function baseRequirements(md: TableMetadata): TableRequirement[] {
  const refs: TableRequirement[] = Object.entries(md.refs).map(([ref, r]) => ({ type: 'assert-ref-snapshot-id', ref, 'snapshot-id': r['snapshot-id'] }))
  if (!md.refs.main) refs.push({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null })
  return [
    { type: 'assert-table-uuid', uuid: md['table-uuid'] },
    { type: 'assert-current-schema-id', 'current-schema-id': md['current-schema-id'] },
    { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': md['last-column-id'] },
    { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': md['last-partition-id'] },
    { type: 'assert-default-spec-id', 'default-spec-id': md['default-spec-id'] },
    { type: 'assert-default-sort-order-id', 'default-sort-order-id': md['default-sort-order-id'] },
    ...refs,
  ]
}

const requirementKey = (r: TableRequirement): string => (r.type === 'assert-ref-snapshot-id' ? `${r.type}:${r.ref}` : r.type)

class RestTableOperations implements TableOperations {
  #storage: LakeStorage | undefined

  constructor(
    readonly identifier: TableIdentifier,
    private readonly url: string,
    private readonly http: RestHttp,
    private readonly lake: LakeResources,
  ) {}

  /** The storage at the table's location, known once its metadata is. */
  bind(storage: LakeStorage): this {
    this.#storage = storage
    return this
  }

  get storage(): LakeStorage {
    if (!this.#storage) throw new TributaryError('TRIB_INTERNAL', `table ${formatIdentifier(this.identifier)}: storage used before the table was loaded`)
    return this.#storage
  }

  async current(): Promise<LoadedMetadata> {
    const what = `table ${formatIdentifier(this.identifier)}`
    const answer = await read(this.http, 'GET', this.url, what)
    if (answer.status === 404) throw new TributaryError('TRIB_LAKE_NOT_FOUND', `no Iceberg table ${formatIdentifier(this.identifier)} in the REST catalog (${describeAnswer(answer)})`, { details: { table: formatIdentifier(this.identifier) } })
    if (answer.status !== 200) throw answer.status === 400 ? new TributaryError('TRIB_LAKE_INVALID_IDENTIFIER', `${what}: ${describeAnswer(answer)}`) : unexpected(what, answer)
    const loaded = loadedOf(answer, this.url)
    if (this.#storage && loaded.metadata.location.replace(/\/+$/, '') !== this.#storage.root) this.#storage = await this.lake.storage.open(loaded.metadata.location)
    return loaded
  }

  async commit(base: LoadedMetadata, commit: TableCommit): Promise<LoadedMetadata | undefined> {
    checkRequirements(base.metadata, commit.requirements)
    const stated = new Set(commit.requirements.map(requirementKey))
    const requirements = [...commit.requirements, ...baseRequirements(base.metadata).filter((r) => !stated.has(requirementKey(r)))]
    const what = `commit to ${formatIdentifier(this.identifier)}`
    let answer: Answer
    try {
      answer = await this.http.send('POST', this.url, { identifier: { namespace: [...this.identifier.namespace], name: this.identifier.name }, requirements, updates: commit.updates })
    } catch (e) {
      if (e instanceof NoAnswer) throw stateUnknown(what, messageOf(e), e)
      throw e
    }
    switch (answer.status) {
      case 200:
        return loadedOf(answer, this.url)
      case 409:
        log.debug({ table: formatIdentifier(this.identifier), answer: describeAnswer(answer) }, 'commit refused: the base is stale')
        return undefined
      case 404:
        throw new TributaryError('TRIB_LAKE_NOT_FOUND', `${what}: ${describeAnswer(answer)}`)
      case 400:
      case 422:
        throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `${what}: refused by the REST catalog (${describeAnswer(answer)})`, { details: { type: errorOf(answer)?.type } })
      case 401:
      case 403:
        throw unexpected(what, answer)
      default:
        if (answer.status >= 500) throw stateUnknown(what, describeAnswer(answer))
        throw unexpected(what, answer)
    }
  }
}

const stateUnknown = (what: string, why: string, cause?: unknown): TributaryError =>
  new TributaryError('TRIB_LAKE_COMMIT_STATE_UNKNOWN', `${what}: ${why}; the commit may or may not have happened: reload the table before retrying`, { ...(cause ? { cause } : {}) })

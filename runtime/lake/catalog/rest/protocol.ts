import type { Namespace } from '../identifier.ts'

/**
 * The Iceberg REST catalog protocol's vocabulary (apache/iceberg open-api/rest-catalog-open-api.yaml),
 * shared by the catalog Tributary serves (server.ts) and its client of other catalogs
 * (connectors/catalog/rest): how a namespace travels in a path, the endpoint names of
 * `GET /v1/config`, and the shapes of the bodies both sides read.
 */

/** Levels of a multi-part namespace in a path segment or `parent` query are separated by 0x1F (url-encoded `%1F`). */
export const NAMESPACE_SEPARATOR = '\u001f'

/** A namespace as one path segment: each level url-encoded, joined by `%1F`. */
export const encodeNamespace = (namespace: Namespace): string => namespace.map((level) => encodeURIComponent(level)).join('%1F')

/** A path segment (already url-decoded) back to its levels. */
export const decodeNamespace = (segment: string): string[] => segment.split(NAMESPACE_SEPARATOR)

/** Endpoints as `GET /v1/config` lists them: "<verb> <path of the OpenAPI spec>". */
export const ENDPOINTS = {
  listNamespaces: 'GET /v1/{prefix}/namespaces',
  createNamespace: 'POST /v1/{prefix}/namespaces',
  loadNamespace: 'GET /v1/{prefix}/namespaces/{namespace}',
  namespaceExists: 'HEAD /v1/{prefix}/namespaces/{namespace}',
  listTables: 'GET /v1/{prefix}/namespaces/{namespace}/tables',
  createTable: 'POST /v1/{prefix}/namespaces/{namespace}/tables',
  loadTable: 'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  tableExists: 'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  updateTable: 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  reportMetrics: 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
} as const

/** What a client assumes of a server whose configuration lists no endpoints (the spec's default set). */
export const DEFAULT_ENDPOINTS: readonly string[] = [
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
  'POST /v1/{prefix}/tables/rename',
  'POST /v1/{prefix}/transactions/commit',
]

/** `GET /v1/config`: defaults, then the client's own properties, then overrides. */
export interface CatalogConfig {
  defaults: Record<string, string>
  overrides: Record<string, string>
  endpoints?: string[]
}

/** Every non-2xx body: `{"error": {"message", "type", "code"}}`; `type` is the Java exception's simple name. */
export interface ErrorModel {
  message: string
  type: string
  code: number
}

/** The exception types clients act on (Java's ErrorHandlers, pyiceberg's rest catalog). */
export const ERROR_TYPES = {
  400: 'BadRequestException',
  401: 'NotAuthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  405: 'MethodNotAllowedException',
  406: 'UnsupportedOperationException',
  409: 'CommitFailedException',
  413: 'BadRequestException',
  429: 'SlowDownException',
  500: 'InternalServerError',
  503: 'ServiceUnavailableException',
} as const satisfies Record<number, string>

export const NO_SUCH_NAMESPACE = 'NoSuchNamespaceException'
export const NO_SUCH_TABLE = 'NoSuchTableException'
export const ALREADY_EXISTS = 'AlreadyExistsException'

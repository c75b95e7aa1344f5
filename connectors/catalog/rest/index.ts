import type { Catalog } from '../../../runtime/lake/catalog/catalog.ts'
import type { LakeResources } from '../../../runtime/lake/resources.ts'
import type { TableOptions } from '../../../runtime/lake/table.ts'
import { bearerAuth, clientCredentialsAuth, noAuth } from './auth.ts'
import { openRestCatalog } from './catalog.ts'
import { RestHttp } from './http.ts'

/**
 * An Iceberg REST catalog as the lake's catalog (`lake.catalog.kind: rest`): Polaris, Lakekeeper,
 * Nessie, Glue's REST endpoint, or another Tributary's `/iceberg`. Opening reads the catalog's
 * configuration, so a wrong URI or refused credentials fail at start.
 */
export interface RestCatalogConnection {
  uri: string
  warehouse?: string | undefined
  /** OAuth2 client credentials `<client id>:<secret>`, exchanged for a token (the value, already revealed). */
  credential?: string | undefined
  /** A bearer token (the value, already revealed). */
  token?: string | undefined
  /** The OAuth2 scope asked for with `credential`. */
  scope?: string
  /** Where `credential` is exchanged; default `<uri>/v1/oauth/tokens`. */
  oauth2ServerUri?: string | undefined
  /** Retries of reads on network errors, 429 and 502/503/504 (writes are sent once). */
  retries?: number
  timeoutMs?: number
}

export async function openRestCatalogConnection(options: RestCatalogConnection, lake: LakeResources, tableOptions: TableOptions = {}): Promise<Catalog> {
  const uri = options.uri.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 30_000
  const auth = options.credential
    ? clientCredentialsAuth({ tokenUri: options.oauth2ServerUri ?? `${uri}/v1/oauth/tokens`, credential: options.credential, scope: options.scope ?? 'catalog', timeoutMs })
    : options.token
      ? bearerAuth(options.token)
      : noAuth
  const http = new RestHttp({ auth, retries: options.retries ?? 5, timeoutMs })
  return openRestCatalog({ uri, http, ...(options.warehouse ? { warehouse: options.warehouse } : {}) }, lake, tableOptions)
}

export { baseRequirements } from './catalog.ts'

import { isTributaryError } from '../../../runtime/errors.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import type { SchemaRegistry } from '../../../runtime/registry/registry.ts'
import { RegistryClient } from './client.ts'
import { type ConfluentRegistryOptions, resolveOptions } from './options.ts'
import { ConfluentSchemaRegistry } from './registry.ts'

/**
 * The remote schema registry: any Confluent-compatible REST API. Chosen by `registry.kind:
 * confluent` with `registry.url` (and `username` / `password` for basic auth, e.g. a Confluent
 * Cloud API key and secret).
 */
export type { ConfluentRegistryOptions } from './options.ts'
export { ConfluentSchemaRegistry } from './registry.ts'

const log = moduleLogger('registry')

/**
 * Opens the adapter and, unless told not to, makes one request so that a wrong URL or refused
 * credentials fail at start (TRIB_REGISTRY_UNAVAILABLE after the retries, or
 * TRIB_REGISTRY_UNAUTHORIZED) rather than on the first record.
 */
export async function openConfluentRegistry(options: ConfluentRegistryOptions): Promise<SchemaRegistry & { readonly url: string }> {
  const resolved = resolveOptions(options)
  const client = new RegistryClient(resolved)
  const registry = new ConfluentSchemaRegistry(client)
  if (resolved.checkOnOpen) {
    try {
      // The root answers `{}` on Confluent and compatible registries; it costs nothing to serve.
      await client.request({ method: 'GET', route: '/' })
    } catch (e) {
      // Anything but "unreachable" or "refused" means a server answered: good enough at start.
      if (isTributaryError(e, 'TRIB_REGISTRY_UNAVAILABLE') || isTributaryError(e, 'TRIB_REGISTRY_UNAUTHORIZED')) {
        await registry.close()
        throw e
      }
    }
  }
  log.info({ url: resolved.displayUrl, user: resolved.user }, 'remote schema registry open')
  return registry
}

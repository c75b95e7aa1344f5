import { AccessControl } from '../../runtime/access/access.ts'
import { basicAuth, bearerTokens } from '../../runtime/access/authenticate.ts'
import { ADMIN_AUDIENCE } from '../../runtime/access/config.ts'
import { type EmbeddedRegistry, serveRegistry } from '../../connectors/registry/embedded/index.ts'

/** The principal tests write to a served registry with: basic auth (what Confluent clients send), in group admin. */
export const registryWriter = { username: 'tests', password: 'tests-registry-password' } as const

export function writerAccess(): AccessControl {
  const principal = { name: 'tests', groups: ['admin'] }
  return new AccessControl({
    authenticators: [basicAuth([{ ...registryWriter, principal }]), bearerTokens([])],
    principals: [principal],
    rules: { control: ADMIN_AUDIENCE, registryWrite: ADMIN_AUDIENCE },
  })
}

/** The embedded registry's REST API on a free port, writable by `registryWriter`; `authUrl` carries the credentials. */
export async function serveWritableRegistry(registry: EmbeddedRegistry): Promise<{ url: string; authUrl: string; close(): Promise<void> }> {
  const server = await serveRegistry(registry, { port: 0, access: writerAccess() })
  return { ...server, authUrl: server.url.replace('http://', `http://${registryWriter.username}:${registryWriter.password}@`) }
}

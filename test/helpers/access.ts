import fs from 'node:fs'
import path from 'node:path'
import { AccessControl } from '../../runtime/access/access.ts'
import { basicAuth, bearerTokens } from '../../runtime/access/authenticate.ts'
import { ADMIN_AUDIENCE } from '../../runtime/access/config.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { type EmbeddedRegistry, serveRegistry } from '../../connectors/registry/embedded/index.ts'
import { linkPackage, productsDir } from './runtime.ts'

/** The principal tests write to a served registry with: basic auth (what Confluent clients send), in group admin. */
export const registryWriter = { username: 'tests', password: 'tests-registry-password' } as const

/** The default body limit (http.maxBodyBytes). */
export const maxBodyBytes = loadConfig({ env: {} }).http.maxBodyBytes

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
  const server = await serveRegistry(registry, { port: 0, access: writerAccess(), maxBodyBytes })
  return { ...server, authUrl: server.url.replace('http://', `http://${registryWriter.username}:${registryWriter.password}@`) }
}

/**
 * A copy of the example product user-profiles with an `access:` block appended to its spec (YAML
 * text, indented as top-level keys), in `parent`; returns the product folder.
 */
export function restrictedUserProfiles(parent: string, accessYaml: string): string {
  const dir = path.join(parent, 'user-profiles')
  // transform.ts imports the package by name: outside the repository, that is this checkout.
  linkPackage(parent)
  fs.cpSync(path.join(productsDir, 'user-profiles'), dir, { recursive: true })
  fs.appendFileSync(path.join(dir, 'product.yaml'), `\n${accessYaml.trim()}\n`)
  return dir
}

/** Who reads the example's profiles port in the access tests, and what each sees. */
export const profilesAccess = `
access:
  control: [group:user-management]
  outputPorts:
    profiles:
      read: [group:analysts, group:user-management]
      readerPolicies:
        - readers: [group:user-management]
          pii: {}
        - readers: [group:analysts]
          pii: { email: hash, display_name: mask, city: drop }
    dlq:
      read: [group:user-management]
`

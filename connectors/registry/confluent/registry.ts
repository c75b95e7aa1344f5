import { TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import { canonicalSchema } from '../../../runtime/registry/canonical.ts'
import { type CompatibilityLevel, type RegisteredSchema, type SchemaRegistry, compatibilityLevels } from '../../../runtime/registry/registry.ts'
import type { Reachability } from '../../../runtime/util/reachability.ts'
import type { RegistryClient, RegistryRequest } from './client.ts'
import { unexpectedBody } from './errors.ts'

/**
 * SchemaRegistry over a Confluent-compatible REST API (Confluent Schema Registry, Karapace,
 * Redpanda, Tributary's own embedded one). Schemas are validated and put in canonical form before
 * they are sent, so both adapters agree on what "the same schema" is and a bad schema fails
 * without a round trip. Schema texts by id never change, so they are cached. Each request names
 * the @kafkajs/confluent-schema-registry resource that serves it, where the library has one; the
 * others go over fetch (client.ts).
 */

const MAX_CACHED_SCHEMAS = 10_000

type Version = number | 'latest'

export class ConfluentSchemaRegistry implements SchemaRegistry {
  readonly #client: RegistryClient
  readonly #schemas = new Map<number, Promise<string>>()

  constructor(client: RegistryClient) {
    this.#client = client
  }

  get url(): string {
    return this.#client.url
  }

  async register(subject: string, schema: string | object): Promise<{ id: number; version: number }> {
    const text = canonicalSchema(schema)
    const req: RegistryRequest = {
      method: 'POST',
      route: `${subjectRoute(subject)}/versions`,
      api: (api, p) => api.Subject.register({ subject, body: { schema: text }, ...p }),
    }
    const answer = await this.#call(req)
    const id = this.#int(req, answer, 'id')
    this.#remember(id, Promise.resolve(text))
    // Confluent answers `{ id }` only (newer versions may add the version); the lookup finds it.
    const version = (answer as { version?: unknown }).version
    if (Number.isInteger(version)) return { id, version: version as number }
    const found = await this.lookup(subject, text)
    if (!found) {
      throw new TributaryError('TRIB_REGISTRY_BAD_RESPONSE', `schema registry ${this.url}: subject ${subject}: schema id ${id} was registered, but a lookup does not find it`, {
        details: { url: this.url, subject, id },
      })
    }
    return { id: found.id, version: found.version }
  }

  schemaById(id: number): Promise<string> {
    const cached = this.#schemas.get(id)
    if (cached) return cached
    const req: RegistryRequest = { method: 'GET', route: `/schemas/ids/${encodeURIComponent(String(id))}`, api: (api, p) => api.Schema.find({ id, ...p }) }
    const pending = this.#call(req).then((answer) => normalized(this.#string(req, answer, 'schema')))
    this.#remember(id, pending)
    pending.catch(() => this.#schemas.delete(id))
    return pending
  }

  async getVersion(subject: string, version: Version): Promise<RegisteredSchema> {
    const segment = versionSegment(subject, version)
    const req: RegistryRequest = {
      method: 'GET',
      route: `${subjectRoute(subject)}/versions/${segment}`,
      api: (api, p) => api.Subject.version({ subject, version: segment, ...p }),
    }
    return this.#registered(req, subject, await this.#call(req))
  }

  async lookup(subject: string, schema: string | object): Promise<RegisteredSchema | undefined> {
    const body = { schema: canonicalSchema(schema) }
    const req: RegistryRequest = { method: 'POST', route: subjectRoute(subject), api: (api, p) => api.Subject.registered({ subject, body, ...p }) }
    try {
      return this.#registered(req, subject, await this.#call(req))
    } catch (e) {
      if (isTributaryError(e, 'TRIB_REGISTRY_SCHEMA_NOT_FOUND') || isTributaryError(e, 'TRIB_REGISTRY_SUBJECT_NOT_FOUND')) return undefined
      throw e
    }
  }

  async listSubjects(): Promise<string[]> {
    const req: RegistryRequest = { method: 'GET', route: '/subjects', api: (api, p) => api.Subject.all({ ...p }) }
    const answer = await this.#call(req)
    if (!Array.isArray(answer) || !answer.every((s) => typeof s === 'string')) throw unexpectedBody(this.#failed(req), 'a list of subjects', answer)
    return [...answer].sort()
  }

  async listVersions(subject: string): Promise<number[]> {
    const req: RegistryRequest = { method: 'GET', route: `${subjectRoute(subject)}/versions` }
    return this.#ints(req, await this.#call(req))
  }

  async checkCompatibility(subject: string, schema: string | object, version?: Version): Promise<{ compatible: boolean; messages: string[] }> {
    const body = { schema: canonicalSchema(schema) }
    const route = `/compatibility${subjectRoute(subject)}/versions`
    // The library checks against one version; against what the level requires (every version
    // under a transitive level) has no resource there.
    const segment = version === undefined ? undefined : versionSegment(subject, version)
    const req: RegistryRequest =
      segment === undefined
        ? { method: 'POST', route, query: { verbose: true }, body }
        : { method: 'POST', route: `${route}/${segment}`, api: (api, p) => api.Subject.compatible({ subject, version: segment, verbose: true, body, ...p }) }
    const answer = (await this.#call(req)) as { is_compatible?: unknown; messages?: unknown } | null
    if (typeof answer?.is_compatible !== 'boolean') throw unexpectedBody(this.#failed(req), '{ is_compatible }', answer)
    const messages = Array.isArray(answer.messages) ? answer.messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))) : []
    return { compatible: answer.is_compatible, messages }
  }

  async getCompatibility(subject?: string): Promise<CompatibilityLevel> {
    if (subject !== undefined) {
      const req: RegistryRequest = {
        method: 'GET',
        route: `/config/${encodeURIComponent(subject)}`,
        api: (api, p) => api.Subject.config({ subject, defaultToGlobal: true, ...p }),
      }
      try {
        return this.#level(req, await this.#call(req))
      } catch (e) {
        // A subject without its own level: 40408 from current registries, 40401 from older ones,
        // which also ignore defaultToGlobal. Either way the global level applies.
        if (!isTributaryError(e, 'TRIB_REGISTRY_SUBJECT_NOT_FOUND') && !(isTributaryError(e, 'TRIB_REGISTRY_BAD_RESPONSE') && e.details.status === 404)) throw e
      }
    }
    // The global level: the library's config resource is per subject only.
    const req: RegistryRequest = { method: 'GET', route: '/config' }
    return this.#level(req, await this.#call(req))
  }

  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    if (!(compatibilityLevels as readonly string[]).includes(level)) {
      throw new TributaryError('TRIB_REGISTRY_INVALID_COMPATIBILITY', `${subject ? `subject ${subject}: ` : ''}invalid compatibility level ${JSON.stringify(level)}`, {
        details: { subject, level },
      })
    }
    const body = { compatibility: level }
    await this.#call(
      subject === undefined
        ? { method: 'PUT', route: '/config', body }
        : { method: 'PUT', route: `/config/${encodeURIComponent(subject)}`, api: (api, p) => api.Subject.updateConfig({ subject, body, ...p }) },
    )
  }

  async deleteSubject(subject: string, permanent = false): Promise<number[]> {
    const req: RegistryRequest = { method: 'DELETE', route: subjectRoute(subject), query: { permanent } }
    return this.#ints(req, await this.#call(req))
  }

  async deleteVersion(subject: string, version: Version, permanent = false): Promise<number> {
    const req: RegistryRequest = { method: 'DELETE', route: `${subjectRoute(subject)}/versions/${versionSegment(subject, version)}`, query: { permanent } }
    const answer = await this.#call(req)
    if (!Number.isInteger(answer)) throw unexpectedBody(this.#failed(req), 'the deleted version', answer)
    return answer as number
  }

  health(): Reachability {
    return this.#client.health()
  }

  async close(): Promise<void> {
    this.#client.close()
  }

  #call(req: RegistryRequest): Promise<unknown> {
    return this.#client.request(req)
  }

  #remember(id: number, text: Promise<string>): void {
    if (this.#schemas.has(id)) return
    if (this.#schemas.size >= MAX_CACHED_SCHEMAS) this.#schemas.delete(this.#schemas.keys().next().value as number)
    this.#schemas.set(id, text)
  }

  #registered(req: RegistryRequest, subject: string, answer: unknown): RegisteredSchema {
    const id = this.#int(req, answer, 'id')
    const text = normalized(this.#string(req, answer, 'schema'))
    this.#remember(id, Promise.resolve(text))
    const named = (answer as { subject?: unknown }).subject
    return { id, subject: typeof named === 'string' ? named : subject, version: this.#int(req, answer, 'version'), schema: text }
  }

  #level(req: RegistryRequest, answer: unknown): CompatibilityLevel {
    const a = answer as { compatibilityLevel?: unknown; compatibility?: unknown } | null
    const level = a?.compatibilityLevel ?? a?.compatibility
    if (typeof level !== 'string' || !(compatibilityLevels as readonly string[]).includes(level.toUpperCase())) {
      throw unexpectedBody(this.#failed(req), `a compatibility level (${compatibilityLevels.join(', ')})`, answer)
    }
    return level.toUpperCase() as CompatibilityLevel
  }

  #int(req: RegistryRequest, answer: unknown, field: string): number {
    const value = (answer as Record<string, unknown> | null)?.[field]
    if (!Number.isInteger(value)) throw unexpectedBody(this.#failed(req), `an integer "${field}"`, answer)
    return value as number
  }

  #ints(req: RegistryRequest, answer: unknown): number[] {
    if (!Array.isArray(answer) || !answer.every((v) => Number.isInteger(v))) throw unexpectedBody(this.#failed(req), 'a list of versions', answer)
    return answer as number[]
  }

  #string(req: RegistryRequest, answer: unknown, field: string): string {
    const value = (answer as Record<string, unknown> | null)?.[field]
    if (typeof value !== 'string') throw unexpectedBody(this.#failed(req), `a string "${field}"`, answer)
    return value
  }

  #failed(req: RegistryRequest) {
    return { displayUrl: this.url, method: req.method, route: req.route, user: undefined }
  }
}

const subjectRoute = (subject: string): string => `/subjects/${encodeURIComponent(subject)}`

// Confluent reads version -1 as "latest"; the interface has a name for that and refuses numbers
// that are not versions, as the embedded registry does.
function versionSegment(subject: string, version: Version): string {
  if (version === 'latest') return 'latest'
  if (!Number.isInteger(version) || version < 1 || version > 0x7fffffff) {
    throw new TributaryError('TRIB_REGISTRY_INVALID_VERSION', `subject ${subject}: version ${version} is invalid; use a positive integer or "latest"`, {
      details: { subject, version },
    })
  }
  return String(version)
}

/**
 * The canonical text (the interface promises it), or the text as the registry holds it when our
 * Avro parser refuses it: someone else registered it, and refusing it here would stop a whole
 * batch where the serde reports it per record.
 */
function normalized(text: string): string {
  try {
    return canonicalSchema(text)
  } catch {
    return text
  }
}

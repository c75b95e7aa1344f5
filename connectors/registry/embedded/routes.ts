import { TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import type { CompatibilityLevel } from '../../../runtime/registry/registry.ts'
import type { EmbeddedRegistry } from './registry.ts'

/**
 * The Confluent REST routes, as a function from (method, url, parsed body) to the JSON answer.
 * Registry errors propagate as TributaryErrors (mapped to Confluent codes by the caller); HttpError
 * covers what only exists at the HTTP level.
 */

/** An HTTP answer that is not a registry error: bad request, unknown route, 40408. */
export class HttpError extends Error {
  readonly status: number
  readonly errorCode: number
  constructor(status: number, errorCode: number, message: string) {
    super(message)
    this.status = status
    this.errorCode = errorCode
  }
}

type Version = number | 'latest'

export async function routeRequest(registry: EmbeddedRegistry, method: string, url: URL, body: unknown): Promise<unknown> {
  const parts = pathParts(url.pathname)
  const flag = (name: string): boolean => url.searchParams.get(name) === 'true'
  const route = (allowed: string, ...handlers: Array<[string, () => Promise<unknown>]>): Promise<unknown> => {
    const hit = handlers.find(([m]) => m === method)
    if (!hit) throw new HttpError(405, 405, `${method} is not allowed on ${url.pathname} (allowed: ${allowed})`)
    return hit[1]()
  }
  const [root, a, b, c, d] = parts
  const n = parts.length

  if (n === 0) return route('GET', ['GET', async () => ({})])

  if (root === 'subjects') {
    if (n === 1) return route('GET', ['GET', () => registry.listSubjects()])
    const subject = a as string
    if (n === 2) {
      return route(
        'POST, DELETE',
        ['POST', () => lookup(registry, subject, body)],
        ['DELETE', () => registry.deleteSubject(subject, flag('permanent'))],
      )
    }
    if (b === 'versions' && n === 3) {
      return route(
        'GET, POST',
        ['GET', () => registry.listVersions(subject)],
        ['POST', async () => ({ id: (await registry.register(subject, schemaOf(body))).id })],
      )
    }
    if (b === 'versions' && n === 4) {
      const version = parseVersion(c as string, subject)
      return route(
        'GET, DELETE',
        ['GET', async () => versionBody(await registry.getVersion(subject, version))],
        ['DELETE', () => registry.deleteVersion(subject, version, flag('permanent'))],
      )
    }
    if (b === 'versions' && n === 5 && d === 'schema') {
      const version = parseVersion(c as string, subject)
      return route('GET', ['GET', async () => JSON.parse((await registry.getVersion(subject, version)).schema) as unknown])
    }
    if (b === 'versions' && n === 5 && d === 'referencedby') {
      // No schema references in the embedded registry: nothing refers to anything.
      const version = parseVersion(c as string, subject)
      return route('GET', [
        'GET',
        async () => {
          await registry.getVersion(subject, version)
          return []
        },
      ])
    }
  }

  if (root === 'schemas') {
    if (a === 'types' && n === 2) return route('GET', ['GET', async () => ['AVRO']])
    if (a === 'ids' && n >= 3 && n <= 4) {
      const id = parseId(b as string)
      if (n === 3) return route('GET', ['GET', async () => ({ schema: await registry.schemaById(id) })])
      if (c === 'schema') return route('GET', ['GET', async () => JSON.parse(await registry.schemaById(id)) as unknown])
      if (c === 'versions') return route('GET', ['GET', () => registry.versionsOfId(id)])
      if (c === 'subjects') {
        return route('GET', ['GET', async () => [...new Set((await registry.versionsOfId(id)).map((v) => v.subject))]])
      }
    }
  }

  if (root === 'compatibility' && a === 'subjects' && c === 'versions' && (n === 4 || n === 5)) {
    const subject = b as string
    const version = n === 5 ? parseVersion(d as string, subject) : undefined
    return route('POST', ['POST', () => compatibility(registry, subject, body, version, flag('verbose'))])
  }

  if (root === 'config' && n <= 2) {
    const subject = a
    if (subject === undefined) {
      return route(
        'GET, PUT',
        ['GET', async () => ({ compatibilityLevel: await registry.getCompatibility() })],
        ['PUT', async () => ({ compatibility: await setLevel(registry, body) })],
      )
    }
    return route(
      'GET, PUT, DELETE',
      ['GET', async () => ({ compatibilityLevel: await subjectLevel(registry, subject, flag('defaultToGlobal')) })],
      ['PUT', async () => ({ compatibility: await setLevel(registry, body, subject) })],
      ['DELETE', async () => ({ compatibilityLevel: (await registry.deleteCompatibility(subject)) ?? notConfigured(subject) })],
    )
  }

  throw new HttpError(404, 404, `no such endpoint: ${method} ${url.pathname}`)
}

function pathParts(pathname: string): string[] {
  try {
    return pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p))
  } catch {
    throw new HttpError(400, 400, `malformed URL path ${pathname}`)
  }
}

function parseVersion(text: string, subject: string): Version {
  if (text === 'latest' || text === '-1') return 'latest'
  if (/^\d{1,10}$/.test(text) && Number(text) >= 1 && Number(text) <= 0x7fffffff) return Number(text)
  throw new TributaryError('TRIB_REGISTRY_INVALID_VERSION', `subject ${subject}: version ${JSON.stringify(text)} is invalid; use a positive integer or "latest"`, {
    details: { subject, version: text },
  })
}

function parseId(text: string): number {
  if (/^\d{1,10}$/.test(text)) return Number(text)
  throw new TributaryError('TRIB_REGISTRY_SCHEMA_NOT_FOUND', `schema id ${JSON.stringify(text)} not found`, { details: { id: text } })
}

/** The schema text of a register / lookup / compatibility body; only AVRO, no references. */
function schemaOf(body: unknown): string {
  const b = (body ?? {}) as { schema?: unknown; schemaType?: unknown; references?: unknown }
  if (b.schemaType !== undefined && b.schemaType !== null && String(b.schemaType).toUpperCase() !== 'AVRO') {
    throw new TributaryError('TRIB_REGISTRY_INVALID_SCHEMA', `schemaType ${String(b.schemaType)} is not supported: the embedded registry holds AVRO schemas only`)
  }
  if (Array.isArray(b.references) && b.references.length > 0) {
    throw new TributaryError('TRIB_REGISTRY_INVALID_SCHEMA', 'schema references are not supported by the embedded registry')
  }
  if (typeof b.schema !== 'string' || b.schema.trim() === '') {
    throw new TributaryError('TRIB_REGISTRY_INVALID_SCHEMA', 'request body needs a "schema" string')
  }
  return b.schema
}

const versionBody = (r: { subject: string; version: number; id: number; schema: string }) => ({
  subject: r.subject,
  version: r.version,
  id: r.id,
  schema: r.schema,
})

async function lookup(registry: EmbeddedRegistry, subject: string, body: unknown): Promise<unknown> {
  const schema = schemaOf(body)
  const found = await registry.lookup(subject, schema)
  if (found) return versionBody(found)
  await registry.listVersions(subject) // 40401 when the subject itself is unknown
  throw new TributaryError('TRIB_REGISTRY_SCHEMA_NOT_FOUND', `subject ${subject}: schema not found`, { details: { subject } })
}

async function compatibility(registry: EmbeddedRegistry, subject: string, body: unknown, version: Version | undefined, verbose: boolean): Promise<unknown> {
  const schema = schemaOf(body)
  let result: { compatible: boolean; messages: string[] }
  try {
    result = await registry.checkCompatibility(subject, schema, version)
  } catch (e) {
    // Confluent: anything is compatible with the latest version of a subject that has none.
    if (version !== 'latest' || !isTributaryError(e, 'TRIB_REGISTRY_SUBJECT_NOT_FOUND')) throw e
    result = { compatible: true, messages: [] }
  }
  return verbose ? { is_compatible: result.compatible, messages: result.messages } : { is_compatible: result.compatible }
}

async function setLevel(registry: EmbeddedRegistry, body: unknown, subject?: string): Promise<CompatibilityLevel> {
  const raw = (body as { compatibility?: unknown } | undefined)?.compatibility
  const level = (typeof raw === 'string' ? raw.toUpperCase() : String(raw)) as CompatibilityLevel
  await registry.setCompatibility(level, subject)
  return level
}

async function subjectLevel(registry: EmbeddedRegistry, subject: string, defaultToGlobal: boolean): Promise<CompatibilityLevel> {
  const own = await registry.subjectCompatibility(subject)
  if (own) return own
  if (defaultToGlobal) return registry.getCompatibility()
  return notConfigured(subject)
}

function notConfigured(subject: string): never {
  throw new HttpError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`)
}

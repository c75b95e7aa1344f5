import type { Need } from '../../../runtime/access/access.ts'
import { TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import { Router, type Request } from '../../../runtime/http/router.ts'
import type { CompatibilityLevel } from '../../../runtime/registry/registry.ts'
import type { EmbeddedRegistry } from './registry.ts'

/**
 * The Confluent REST routes on the runtime's router, each declaring whether it reads or writes the
 * registry: lookups (`POST /subjects/:subject`) and compatibility checks change nothing and are
 * reads, as Confluent's own authorizer treats them; registering, deleting, and setting config or
 * mode are writes. A route answers the JSON body; registry errors propagate as TributaryErrors
 * (mapped to Confluent codes by the family's error format); HttpError covers what only exists at
 * the HTTP level of the Confluent API.
 */

/** An HTTP answer that is not a registry error: 40408, an invalid or unsupported mode. */
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
type Answer = (r: Request) => Promise<unknown>

const READ: Need = { kind: 'registry-read' }
const WRITE: Need = { kind: 'registry-write' }

/** Subjects are free text in the Confluent API; only control characters are refused. */
const subjectRule = (v: string): string | undefined => (v.length > 0 && v.length <= 1000 && !/[\u0000-\u001f\u007f]/.test(v) ? undefined : 'is not a valid subject')
const parsedLater = (): undefined => undefined

export function registryRouter(registry: EmbeddedRegistry, send: (r: Request, body: unknown) => void): Router {
  const router = new Router({ subject: subjectRule, version: parsedLater, id: parsedLater })
  const add = (method: string, pattern: string, need: Need, answer: Answer) => router.add(method, pattern, need, async (r) => send(r, await answer(r)))
  const flag = (r: Request, name: string): boolean => r.query.get(name) === 'true'
  const subject = (r: Request): string => r.params.subject!
  const version = (r: Request): Version => parseVersion(r.params.version!, subject(r))
  const body = (r: Request) => r.body({ optional: true })

  add('GET', '/', READ, async () => ({}))
  add('GET', '/subjects', READ, () => registry.listSubjects())
  add('POST', '/subjects/:subject', READ, async (r) => lookup(registry, subject(r), await body(r)))
  add('DELETE', '/subjects/:subject', WRITE, (r) => registry.deleteSubject(subject(r), flag(r, 'permanent')))
  add('GET', '/subjects/:subject/versions', READ, (r) => registry.listVersions(subject(r)))
  add('POST', '/subjects/:subject/versions', WRITE, async (r) => ({ id: (await registry.register(subject(r), schemaOf(await body(r)))).id }))
  add('GET', '/subjects/:subject/versions/:version', READ, async (r) => versionBody(await registry.getVersion(subject(r), version(r))))
  add('DELETE', '/subjects/:subject/versions/:version', WRITE, (r) => registry.deleteVersion(subject(r), version(r), flag(r, 'permanent')))
  add('GET', '/subjects/:subject/versions/:version/schema', READ, async (r) => JSON.parse((await registry.getVersion(subject(r), version(r))).schema) as unknown)
  // No schema references in the embedded registry: nothing refers to anything.
  add('GET', '/subjects/:subject/versions/:version/referencedby', READ, async (r) => {
    await registry.getVersion(subject(r), version(r))
    return []
  })
  add('GET', '/schemas/types', READ, async () => ['AVRO'])
  add('GET', '/schemas/ids/:id', READ, async (r) => ({ schema: await registry.schemaById(parseId(r.params.id!)) }))
  add('GET', '/schemas/ids/:id/schema', READ, async (r) => JSON.parse(await registry.schemaById(parseId(r.params.id!))) as unknown)
  add('GET', '/schemas/ids/:id/versions', READ, (r) => registry.versionsOfId(parseId(r.params.id!)))
  add('GET', '/schemas/ids/:id/subjects', READ, async (r) => [...new Set((await registry.versionsOfId(parseId(r.params.id!))).map((v) => v.subject))])
  add('POST', '/compatibility/subjects/:subject/versions', READ, async (r) => compatibility(registry, subject(r), await body(r), undefined, flag(r, 'verbose')))
  add('POST', '/compatibility/subjects/:subject/versions/:version', READ, async (r) => compatibility(registry, subject(r), await body(r), version(r), flag(r, 'verbose')))
  add('GET', '/config', READ, async () => ({ compatibilityLevel: await registry.getCompatibility() }))
  add('PUT', '/config', WRITE, async (r) => ({ compatibility: await setLevel(registry, await body(r)) }))
  add('GET', '/config/:subject', READ, async (r) => ({ compatibilityLevel: await subjectLevel(registry, subject(r), flag(r, 'defaultToGlobal')) }))
  add('PUT', '/config/:subject', WRITE, async (r) => ({ compatibility: await setLevel(registry, await body(r), subject(r)) }))
  add('DELETE', '/config/:subject', WRITE, async (r) => ({ compatibilityLevel: (await registry.deleteCompatibility(subject(r))) ?? notConfigured(subject(r)) }))
  // The embedded registry is always READWRITE; the mode routes exist so clients that ask get the
  // truth, and so that setting a mode is a write like any other.
  add('GET', '/mode', READ, async () => ({ mode: READWRITE }))
  add('PUT', '/mode', WRITE, async (r) => ({ mode: checkMode(await body(r)) }))
  add('GET', '/mode/:subject', READ, async () => ({ mode: READWRITE }))
  add('PUT', '/mode/:subject', WRITE, async (r) => ({ mode: checkMode(await body(r)) }))
  add('DELETE', '/mode/:subject', WRITE, async () => ({ mode: READWRITE }))
  return router
}

const READWRITE = 'READWRITE'
const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT']

function checkMode(body: unknown): string {
  const raw = (body as { mode?: unknown } | undefined)?.mode
  const mode = typeof raw === 'string' ? raw.toUpperCase() : String(raw)
  if (!MODES.includes(mode)) throw new HttpError(422, 42204, `Invalid mode ${JSON.stringify(raw)}: expected one of ${MODES.join(', ')}`)
  if (mode !== READWRITE) throw new HttpError(422, 42205, `mode ${mode} is not supported: the embedded registry is always READWRITE`)
  return mode
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

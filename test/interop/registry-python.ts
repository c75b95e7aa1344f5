import { spawn } from 'node:child_process'
import path from 'node:path'
import { pythonPath, repoRoot } from './python.ts'

/**
 * Confluent's Python client (confluent-kafka, fastavro) behind test/interop/registry_client.py,
 * run asynchronously: the registry it talks to is served by this same process, which must keep
 * answering while Python waits.
 */
export function registryClient<T = unknown>(command: 'client' | 'refused' | 'serialize' | 'deserialize' | 'consume', request: unknown, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), [path.join(repoRoot, 'test/interop/registry_client.py'), command], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stderr = Buffer.concat(err).toString()
      if (code !== 0) return reject(new Error(`registry_client.py ${command} exited with ${code ?? signal}:\n${stderr.slice(-4000)}`))
      try {
        resolve(JSON.parse(Buffer.concat(out).toString()) as T)
      } catch (e) {
        reject(new Error(`registry_client.py ${command} printed no JSON (${(e as Error).message}):\n${stderr.slice(-4000)}`))
      }
    })
    child.stdin.end(JSON.stringify(request))
  })
}

type AvroSchema = string | AvroSchema[] | { type: unknown; logicalType?: string; fields?: Array<{ name: string; type: AvroSchema }>; items?: AvroSchema; values?: AvroSchema }

/**
 * What fastavro should read for a value in Tributary's canonical form, tagged as registry_client.py
 * tags it: the test states the Python side's types, not only its JSON.
 */
export function pythonView(schema: AvroSchema, value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (Array.isArray(schema)) {
    const branches = schema.filter((b) => b !== 'null')
    if (branches.length !== 1) throw new Error(`pythonView: unions of ${branches.length} non-null branches are not handled`)
    return pythonView(branches[0]!, value)
  }
  if (typeof schema === 'string') return Buffer.isBuffer(value) ? { $bytes: value.toString('base64') } : value
  const type = typeof schema.type === 'object' && schema.type !== null ? (schema.type as AvroSchema) : undefined
  if (type !== undefined) return pythonView(type, value)
  switch (schema.logicalType) {
    case 'decimal':
      return { $decimal: value }
    case 'date':
      return { $date: value }
    case 'time-millis':
    case 'time-micros':
      return { $time: pythonFraction(String(value)) }
    case 'timestamp-millis':
    case 'timestamp-micros':
      return { $datetime: pythonFraction(String(value).replace(/Z$/, '')) + '+00:00' }
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      return { $datetime: pythonFraction(String(value)) }
    case 'uuid':
      return { $uuid: value }
  }
  switch (schema.type) {
    case 'record':
      return Object.fromEntries((schema.fields ?? []).map((f) => [f.name, pythonView(f.type, (value as Record<string, unknown>)[f.name])]))
    case 'array':
      return (value as unknown[]).map((v) => pythonView(schema.items!, v))
    case 'map':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, pythonView(schema.values!, v)]))
    case 'fixed':
    case 'bytes':
      return { $bytes: (value as Buffer).toString('base64') }
    default:
      return value
  }
}

/** Python's isoformat: microseconds as 6 digits, or none at all when they are zero. */
function pythonFraction(text: string): string {
  const m = /^(.*?)(?:\.(\d+))?$/.exec(text)!
  const micros = (m[2] ?? '').padEnd(6, '0').slice(0, 6)
  return /^0+$/.test(micros) ? m[1]! : `${m[1]}.${micros}`
}

/** A schema with every logical type the canonical form covers, and records of it in that form. */
export const interopSchema = {
  type: 'record',
  name: 'Interop',
  namespace: 'interop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'uid', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'blob', type: 'bytes' },
    { name: 'code', type: { type: 'fixed', name: 'Code', size: 4 } },
    { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'premium', 'family'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'counts', type: { type: 'map', values: 'long' } },
    { name: 'point', type: { type: 'record', name: 'Point', fields: [{ name: 'x', type: 'double' }, { name: 'y', type: 'float' }] } },
  ],
}

/** Records in the canonical in-memory form (see common conventions), covering every logical type above. */
export const interopRecords = [
  {
    id: 1,
    name: 'Ada',
    email: 'ada@example.com',
    amount: '12.50',
    day: '2026-11-01',
    at: '2026-11-01T08:00:00.123Z',
    micros: '2026-11-01T08:00:00.123456Z',
    clock: '08:30:15.250',
    uid: '0b6f5c52-2f1e-4a8e-9a53-3f2b7d9a1c01',
    blob: Buffer.from([0, 1, 2, 255]),
    code: Buffer.from('ABCD'),
    plan: 'premium',
    tags: ['a', 'b'],
    counts: { x: 1, y: 4_000_000_000_000_000 },
    point: { x: 1.25, y: -0.5 },
  },
  {
    id: -2,
    name: 'Grace ✓',
    email: null,
    amount: '-0.01',
    day: '1969-12-31',
    at: '1970-01-01T00:00:00.000Z',
    micros: '2038-01-19T03:14:08.000001Z',
    clock: '00:00:00.000',
    uid: 'ffffffff-0000-4000-8000-000000000000',
    blob: Buffer.alloc(0),
    code: Buffer.from([9, 8, 7, 6]),
    plan: 'free',
    tags: [],
    counts: {},
    point: { x: -1e300, y: 3.5 },
  },
]

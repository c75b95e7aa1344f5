import fs from 'node:fs'
import path from 'node:path'
import { parseExact } from '../codec/json/exact.ts'
import { TributaryError, messageOf } from '../errors.ts'
import type { Product } from '../product/load.ts'

/**
 * A test case of a product: a folder `tests/<case>/` beside product.yaml, with JSON Lines files in
 * the value model's JSON form (runtime/codec/VALUES.md: int64 exact, decimals and times as
 * strings, bytes as base64):
 *
 *   input/<port>.jsonl             records for an input port (stream or table mode), in order
 *   expected/<port>.jsonl          what the output port must hold, in the order it was emitted
 *   expected/dlq.jsonl             the dead letters, in order (absent: none expected)
 *   expected/snapshot/<port>.jsonl the rows of the port's table after the case (any order)
 *
 * An input line is `{"key": …, "value": {…}}` (`value: null` is a tombstone), or for a Debezium port
 * `{"key": …, "op": "c", "after": {…}}` (`before` for u and d); optional `timestamp` (ISO 8601 or
 * epoch ms) and `headers` (strings). `valueText` / `valueBase64` give the value's bytes as they are,
 * to test what malformed input does. An output line is `{"key": …, "value": …}` (key optional); a
 * dead letter `{"port", "code", "stage"?, "offset"?, "message"?}` (message: a part of it). An output
 * port without an expected file must emit nothing.
 */
export interface Fixture {
  readonly name: string
  readonly dir: string
  /** Per input port, its records. */
  readonly inputs: ReadonlyMap<string, readonly InputLine[]>
  readonly outputs: ReadonlyMap<string, readonly ExpectedRecord[]>
  readonly deadLetters: readonly ExpectedDeadLetter[]
  /** Only ports whose snapshot rows are checked. */
  readonly snapshots: ReadonlyMap<string, readonly Record<string, unknown>[]>
}

export interface InputLine {
  readonly file: string
  readonly line: number
  readonly key?: unknown
  readonly value?: Record<string, unknown> | null
  readonly op?: 'c' | 'u' | 'd' | 'r' | 't'
  readonly before?: Record<string, unknown> | null
  readonly after?: Record<string, unknown> | null
  readonly timestamp?: string | number
  readonly headers?: Record<string, string>
  readonly valueText?: string
  readonly valueBase64?: string
}

export interface ExpectedRecord {
  readonly line: number
  readonly key?: unknown
  readonly value: unknown
}

export interface ExpectedDeadLetter {
  readonly line: number
  readonly port?: string
  readonly code?: string
  readonly stage?: string
  readonly offset?: number
  readonly message?: string
}

export const TESTS_DIR = 'tests'

/** The cases of a product, by folder name, sorted. */
export function readFixtures(product: Product): Fixture[] {
  const root = path.join(product.dir, TESTS_DIR)
  if (!fs.existsSync(root)) return []
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => readFixture(product, path.join(root, name)))
}

export function readFixture(product: Product, dir: string): Fixture {
  const inputs = new Map<string, InputLine[]>()
  const ports = new Set(product.inputs.map((p) => p.spec.name))
  for (const [port, file] of jsonlFiles(path.join(dir, 'input'))) {
    if (!ports.has(port)) throw fixtureError(file, undefined, `${product.name} has no input port ${port} (ports: ${[...ports].join(', ')})`)
    inputs.set(port, readLines(file).map(({ line, value }) => inputLine(file, line, value)))
  }
  if (inputs.size === 0) throw fixtureError(path.join(dir, 'input'), undefined, 'no input/<port>.jsonl file: a case needs input records')

  const outputNames = new Set(product.outputs.map((p) => p.spec.name))
  const outputs = new Map<string, ExpectedRecord[]>()
  for (const [port, file] of jsonlFiles(path.join(dir, 'expected'))) {
    if (port === 'dlq') continue
    if (!outputNames.has(port)) throw fixtureError(file, undefined, `${product.name} has no output port ${port} (ports: ${[...outputNames].join(', ')})`)
    outputs.set(port, readLines(file).map(({ line, value }) => expectedRecord(file, line, value)))
  }
  const dlqFile = path.join(dir, 'expected', 'dlq.jsonl')
  const deadLetters = fs.existsSync(dlqFile) ? readLines(dlqFile).map(({ line, value }) => expectedDeadLetter(dlqFile, line, value)) : []

  const snapshots = new Map<string, Record<string, unknown>[]>()
  for (const [port, file] of jsonlFiles(path.join(dir, 'expected', 'snapshot'))) {
    const out = product.outputs.find((o) => o.spec.name === port)
    if (!out?.spec.snapshot) throw fixtureError(file, undefined, `${product.name} has no output port ${port} with a snapshot`)
    snapshots.set(port, readLines(file).map(({ line, value }) => object(file, line, value, 'a row')))
  }
  return { name: path.basename(dir), dir, inputs, outputs, deadLetters, snapshots }
}

function jsonlFiles(dir: string): Array<[name: string, file: string]> {
  if (!fs.existsSync(dir)) return []
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => [f.slice(0, -'.jsonl'.length), path.join(dir, f)])
}

function readLines(file: string): Array<{ line: number; value: unknown }> {
  const out: Array<{ line: number; value: unknown }> = []
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return
      try {
        out.push({ line: i + 1, value: parseExact(text) })
      } catch (e) {
        throw fixtureError(file, i + 1, `not valid JSON (${messageOf(e)})`)
      }
    })
  return out
}

const inputKeys = new Set(['key', 'value', 'op', 'before', 'after', 'timestamp', 'headers', 'valueText', 'valueBase64'])

function inputLine(file: string, line: number, raw: unknown): InputLine {
  const o = object(file, line, raw, 'an input record')
  for (const k of Object.keys(o)) if (!inputKeys.has(k)) throw fixtureError(file, line, `unknown field "${k}" (expected ${[...inputKeys].join(', ')})`)
  if (o.op !== undefined && !['c', 'u', 'd', 'r', 't'].includes(o.op as string)) throw fixtureError(file, line, `op: expected one of c, u, d, r, t`)
  if (o.timestamp !== undefined && typeof o.timestamp !== 'string' && typeof o.timestamp !== 'number') throw fixtureError(file, line, 'timestamp: expected an ISO 8601 time or epoch milliseconds')
  return { file, line, ...(o as Omit<InputLine, 'file' | 'line'>) }
}

function expectedRecord(file: string, line: number, raw: unknown): ExpectedRecord {
  const o = object(file, line, raw, 'an expected record')
  for (const k of Object.keys(o)) if (k !== 'key' && k !== 'value') throw fixtureError(file, line, `unknown field "${k}" (expected key, value)`)
  if (!('value' in o)) throw fixtureError(file, line, 'value: required (null for a tombstone)')
  return { line, ...(o as { key?: unknown; value: unknown }) }
}

function expectedDeadLetter(file: string, line: number, raw: unknown): ExpectedDeadLetter {
  const o = object(file, line, raw, 'an expected dead letter')
  const allowed = new Set(['port', 'code', 'stage', 'offset', 'message'])
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw fixtureError(file, line, `unknown field "${k}" (expected ${[...allowed].join(', ')})`)
  if (o.code === undefined) throw fixtureError(file, line, 'code: required (the TRIB_… code the record must get)')
  return { line, ...(o as Omit<ExpectedDeadLetter, 'line'>) }
}

function object(file: string, line: number, raw: unknown, what: string): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw fixtureError(file, line, `expected ${what} (a JSON object)`)
  return raw as Record<string, unknown>
}

export function fixtureError(file: string, line: number | undefined, message: string): TributaryError {
  return new TributaryError('TRIB_TEST_FIXTURE', `${file}${line === undefined ? '' : `:${line}`}: ${message}`, { details: { file, line } })
}

import fs from 'node:fs'
import path from 'node:path'
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document } from 'yaml'
import type { z } from 'zod'
import { TributaryError } from '../errors.ts'
import { productSpecSchema, type ProductSpec } from './schema.ts'

export const specFileNames = ['product.yaml', 'product.yml'] as const

export interface SpecIssue {
  file: string
  line?: number
  column?: number
  /** Dotted path such as `outputPorts[0].key`. */
  path: string
  message: string
}

export const formatIssue = (i: SpecIssue): string =>
  `${i.file}${i.line ? `:${i.line}:${i.column}` : ''} ${i.path ? `${i.path}: ` : ''}${i.message}`

export function findSpecFile(dir: string): string {
  for (const n of specFileNames) {
    const file = path.join(dir, n)
    if (fs.existsSync(file)) return file
  }
  throw new TributaryError('TRIB_SPEC_NOT_FOUND', `no product.yaml in ${dir}`, { details: { dir } })
}

/** Reads and validates a product.yaml. Errors name the file, the line, the field path and what was expected. */
export function readSpec(file: string): ProductSpec {
  const text = fs.readFileSync(file, 'utf8')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0])
      return { file, line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0]! }
    })
    throw specError('TRIB_SPEC_PARSE', file, issues)
  }
  const result = productSpecSchema.safeParse(doc.toJS())
  if (!result.success) throw specError('TRIB_SPEC_INVALID', file, zodIssues(result.error, doc, lines, file))
  return deepFreeze(result.data)
}

function specError(code: 'TRIB_SPEC_PARSE' | 'TRIB_SPEC_INVALID', file: string, issues: SpecIssue[]): TributaryError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  return new TributaryError(code, `${formatIssue(issues[0]!)}${more}`, { details: { file, issues } })
}

function zodIssues(error: z.ZodError, doc: Document, lines: LineCounter, file: string): SpecIssue[] {
  return error.issues.flatMap((issue) => {
    const basePath = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
    // An unknown key is reported at the key itself, so the position points at the typo.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined]
    return keys.map((key) => {
      const at = key === undefined ? basePath : [...basePath, key]
      const offset = positionOf(doc, basePath, key)
      const pos = offset === undefined ? undefined : lines.linePos(offset)
      const message = key === undefined ? describeIssue(issue) : `unknown field "${key}"`
      return { file, line: pos?.line, column: pos?.col, path: formatPath(at), message }
    })
  })
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const message = issue.message.replace(/^Invalid input: /, '')
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) return `required field missing (expected ${issue.expected})`
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
  return message
}

export const formatPath = (p: ReadonlyArray<string | number>): string =>
  p.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '')

function positionOf(doc: Document, at: Array<string | number>, key?: string): number | undefined {
  // Walk down as far as the document goes; a missing field points at its parent.
  for (let depth = at.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(at.slice(0, depth), true)
    if (!node || typeof node !== 'object') continue
    if (key !== undefined && depth === at.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key)
      if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0]
    }
    const range = (node as { range?: [number, number, number] }).range
    if (range) return range[0]
  }
  return undefined
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

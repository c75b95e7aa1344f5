import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { maxOf, minOf, pushAll } from '../../../runtime/util/arrays.ts'
import { repoRoot } from '../../helpers/runtime.ts'

/** Calls that pass each element of an array as an argument: they overflow the stack on long arrays. */
const ARGUMENT_SPREAD = /(?:Math\.(?:min|max)|\.push|\.unshift|String\.fromCharCode|String\.fromCodePoint)\((?:[^()]*,\s*)?\.\.\./

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'generated' ? [] : sources(p)
    return /\.(ts|js)$/.test(e.name) ? [p] : []
  })
}

describe('arrays of any length', () => {
  it('min, max and append do what Math.min(...), Math.max(...) and push(...) cannot past ~100k elements', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003)
    expect(() => Math.min(...big)).toThrow(RangeError)
    expect(minOf(big)).toBe(0)
    expect(maxOf(big)).toBe(big.reduce((a, b) => (a > b ? a : b)))
    expect(pushAll([1], big)).toHaveLength(1_000_001)
    expect([minOf([]), maxOf([])]).toEqual([Infinity, -Infinity])
  })

  it('no argument spread of an array in the runtime, connectors or products', () => {
    const hits = ['runtime', 'connectors', 'products']
      .flatMap((d) => sources(path.join(repoRoot, d)))
      .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n').map((line, i) => ({ file, line: i + 1, text: line })))
      .filter((l) => ARGUMENT_SPREAD.test(l.text) && !/^\s*(\*|\/\/)/.test(l.text))
      .map((l) => `${path.relative(repoRoot, l.file)}:${l.line}: ${l.text.trim()}`)
    expect(hits).toEqual([])
  })
})

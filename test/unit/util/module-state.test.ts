import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../helpers/runtime.ts'

/**
 * No module-level mutable state in the runtime or the connectors (issue 15): the runtime object
 * owns every connection, cache and client. A module-level `let`/`var`, or a Map/Set/WeakMap made
 * empty at module level (a cache), fails this test unless it is listed here with why it is safe.
 * Constant tables (`new Set([...])` of literals, frozen objects) are not state.
 */
const ALLOWED: Readonly<Record<string, { names: readonly string[]; why: string }>> = {
  'runtime/processor/threads/thread.ts': {
    names: ['runtime', 'processor', 'running'],
    why: "a stream thread's entry module: each worker thread has its own module instance, and this is that thread's runtime",
  },
  'runtime/http/probe-thread.js': {
    names: ['heartbeat', 'readiness'],
    why: "the probe worker's entry module: its own module instance in its own thread (heartbeat views the shared memory the main thread hands it)",
  },
  'runtime/doctor/lmdb-probe.js': {
    names: ['entries'],
    why: 'a script run as a child process by `tributary doctor`: the process is the probe',
  },
  'runtime/cli/bin.js': {
    names: ['chosen'],
    why: 'the CLI entry point: one command per process',
  },
  'runtime/codec/values/temporal.ts': {
    names: ['memoDays', 'memoDates', 'memoCivil', 'memoCivilDays'],
    why: 'direct-mapped memos of pure calendar functions (days <-> YYYY-MM-DD): a slot holds its key next to the value, so a hit is the function of its key whoever filled it; written synchronously, per thread',
  },
  'connectors/embedded-log/crc.ts': {
    names: ['viewed', 'view'],
    why: 'a DataView over the last buffer checksummed (synchronous, a function of its argument only): nothing crosses calls but the view; it keeps that one buffer reachable until the next call',
  },
}

const DECLARATION = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/
const EMPTY_COLLECTION = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\b[^=]*=\s*new\s+(?:Map|Set|WeakMap|WeakSet)\s*(?:<[^>]*>)?\(\s*\)/
/** An array made at module level to be written later (a memo); tables computed once are built with Array.from or a function. */
const SLOTS = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\b[^=]*=\s*new\s+(?:Array|\w+Array)\s*(?:<[^>]*>)?\(/

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'generated' ? [] : sources(p)
    return /\.(ts|js|mjs)$/.test(e.name) ? [p] : []
  })
}

/** `file: name` for every module-level mutable binding (column 0: inside a function or class is indented). */
function moduleState(): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (const file of ['runtime', 'connectors'].flatMap((d) => sources(path.join(repoRoot, d)))) {
    const rel = path.relative(repoRoot, file).split(path.sep).join('/')
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const name = DECLARATION.exec(line)?.[1] ?? EMPTY_COLLECTION.exec(line)?.[1] ?? SLOTS.exec(line)?.[1]
      if (name) found.set(rel, [...(found.get(rel) ?? []), name])
    }
  }
  return found
}

describe('module-level mutable state', () => {
  const found = moduleState()

  it('exists only where the allow-list says why', () => {
    const unexplained = [...found].flatMap(([file, names]) => names.filter((n) => !ALLOWED[file]?.names.includes(n)).map((n) => `${file}: ${n}`))
    expect(unexplained).toEqual([])
  })

  it('the allow-list names nothing that is gone', () => {
    const stale = Object.entries(ALLOWED).flatMap(([file, { names }]) => names.filter((n) => !found.get(file)?.includes(n)).map((n) => `${file}: ${n}`))
    expect(stale).toEqual([])
  })

  it('the scan sees a module-level let and an empty cache, and not an indented one', () => {
    expect(DECLARATION.exec('let cache = 1')?.[1]).toBe('cache')
    expect(DECLARATION.exec('export let n: number')?.[1]).toBe('n')
    expect(EMPTY_COLLECTION.exec('const parsed = new Map<string, Type>()')?.[1]).toBe('parsed')
    expect(EMPTY_COLLECTION.exec('export const seen: WeakMap<object, string> = new WeakMap()')?.[1]).toBe('seen')
    expect(EMPTY_COLLECTION.exec("const KINDS = new Set(['a', 'b'])")).toBeNull()
    expect(SLOTS.exec('const memo = new Float64Array(1 << 15).fill(Number.NaN)')?.[1]).toBe('memo')
    expect(SLOTS.exec("const TWO = Array.from({ length: 100 }, (_, i) => pad(i, 2))")).toBeNull()
    expect(DECLARATION.exec('  let local = 0')).toBeNull()
  })
})

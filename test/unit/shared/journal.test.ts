import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeLine, JournalFile, parseLines, type Where } from '../../../connectors/shared/journal.ts'

const dirs: string[] = []
const tempFile = (content: Buffer): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-journal-'))
  dirs.push(d)
  const f = path.join(d, 'j')
  fs.writeFileSync(f, content)
  return f
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

class Corrupt extends Error {
  constructor(
    readonly reason: string,
    readonly where: Where,
  ) {
    super(`${where.file}: ${reason} at ${where.position}..${where.end} line ${where.line}`)
  }
}
const corrupt = (reason: string, where: Where): Error => new Corrupt(reason, where)

/** Every value the journal delivers from a file holding `bytes`, or the damage it reports. */
function readAllOf(bytes: Buffer): { values: unknown[]; unterminated: number } | Corrupt {
  const file = JournalFile.open(tempFile(bytes), 'read', corrupt)
  try {
    const values: unknown[] = []
    file.read((v) => void values.push(v))
    return { values, unterminated: file.unterminated }
  } catch (e) {
    if (e instanceof Corrupt) return e
    throw e
  } finally {
    file.close()
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 2 })

describe('the shared checksummed journal', () => {
  it('delivers complete lines only, and appends after what it read', () => {
    const f = tempFile(Buffer.concat([encodeLine({ a: 1 }), encodeLine('two'), encodeLine([3]).subarray(0, 5)]))
    const writer = JournalFile.open(f, 'write', corrupt)
    const seen: unknown[] = []
    expect(writer.read((v) => void seen.push(v))).toBe(2)
    expect(seen).toEqual([{ a: 1 }, 'two'])
    expect(writer.unterminated).toBe(5)
    expect(writer.cutTail()).toBe(5)
    writer.append([{ b: 'ü' }, null], true)
    writer.close()
    expect(readAllOf(fs.readFileSync(f))).toEqual({ values: [{ a: 1 }, 'two', { b: 'ü' }, null], unterminated: 0 })
  })

  it('a torn tail is any prefix of a line: never delivered, never an error (generated)', () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { minLength: 1, maxLength: 20 }), fc.nat(), (values, cutAt) => {
        const lines = values.map(encodeLine)
        const whole = Buffer.concat(lines)
        const cut = cutAt % (whole.length + 1)
        let complete = 0
        for (let end = 0, i = 0; i < lines.length; i++) if ((end += lines[i]!.length) <= cut) complete = i + 1
        const result = readAllOf(whole.subarray(0, cut))
        expect(result).not.toBeInstanceOf(Corrupt)
        expect((result as { values: unknown[] }).values).toEqual(values.slice(0, complete).map((v) => JSON.parse(JSON.stringify(v))))
      }),
      { numRuns: 300 },
    )
  })

  it('a damaged complete line is corruption, wherever it is, naming its line and bytes (generated)', () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (values, at, mask) => {
        const lines = values.map(encodeLine)
        const whole = Buffer.concat(lines)
        const pos = at % (whole.length - 1) // any byte but the final newline, whose loss only looks torn
        const damaged = Buffer.from(whole)
        damaged[pos] = damaged[pos]! ^ mask
        const result = readAllOf(damaged)
        expect(result).toBeInstanceOf(Corrupt)
        let line = 0
        let start = 0
        while (start + lines[line]!.length <= pos) start += lines[line++]!.length
        const where = (result as Corrupt).where
        // The damaged line, or (a newline flipped into it) the first part of it.
        expect(where.line).toBe(line + 1)
        expect(where.position).toBe(start)
      }),
      { numRuns: 500 },
    )
  })

  it('the last complete line failing its checksum is corruption, not a torn append', () => {
    const good = encodeLine({ id: 1 })
    const bad = encodeLine({ id: 2 })
    bad[12] = bad[12]! ^ 1
    const result = readAllOf(Buffer.concat([good, bad]))
    expect(result).toBeInstanceOf(Corrupt)
    expect((result as Corrupt).where).toEqual({ file: expect.any(String), position: good.length, end: good.length + bad.length, line: 2 })
    expect(() => parseLines(bad, bad.length, { file: 'x', position: 0, line: 1 }, corrupt, () => true)).toThrow(/checksum mismatch/)
  })

  it('reads lines longer than its buffer', () => {
    const big = 'x'.repeat(200_000)
    const result = readAllOf(Buffer.concat([encodeLine(big), encodeLine(1)]))
    expect(result).toEqual({ values: [big, 1], unterminated: 0 })
  })
})

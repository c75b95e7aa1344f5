import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { errorCodes } from '../../../runtime/errors.ts'
import { repoRoot } from '../../helpers/runtime.ts'

describe('error codes', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const table = readme.slice(readme.indexOf('## Error codes'))
  const rows = new Map([...table.matchAll(/^\| `(TRIB_[A-Z0-9_]+)` \| (yes|no) \| (.+) \|$/gm)].map((m) => [m[1]!, { retriable: m[2] === 'yes', summary: m[3]! }]))

  it('lists every code in the README with its retriable flag and summary', () => {
    for (const [code, { retriable, summary }] of Object.entries(errorCodes)) {
      expect(rows.get(code), `README is missing ${code}`).toEqual({ retriable, summary })
    }
  })

  it('documents no code that does not exist', () => {
    for (const code of rows.keys()) expect(Object.keys(errorCodes)).toContain(code)
  })

  it('uses every code somewhere in the runtime', () => {
    const sources = ['runtime', 'connectors'].flatMap((dir) => listTs(path.join(repoRoot, dir))).map((f) => fs.readFileSync(f, 'utf8')).join('\n')
    for (const code of Object.keys(errorCodes)) expect(sources.split(`'${code}'`).length - 1, code).toBeGreaterThan(0)
  })
})

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTs(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  )
}

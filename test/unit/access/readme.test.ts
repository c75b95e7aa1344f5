import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../runtime/config/load.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { restrictedUserProfiles } from '../../helpers/access.ts'
import { repoRoot, tempDir } from '../../helpers/runtime.ts'

// The README's access examples are what the runtime accepts.
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
const section = readme.slice(readme.indexOf('### Access control'), readme.indexOf('### The mesh catalog'))
const [config, product] = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)
const dir = tempDir('trib-access-readme-')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('the README on access control', () => {
  it('shows a runtime configuration that validates', () => {
    fs.writeFileSync(path.join(dir, 'config.yaml'), config!)
    const c = loadConfig({ file: path.join(dir, 'config.yaml'), env: {} })
    expect(Object.keys(c.access.principals)).toEqual(['platform-ops', 'um-team', 'analytics', 'schema-ci'])
    expect(c.access.registryWrite).toEqual(['group:admin', 'group:schema-writers'])
  })

  it("shows a product access block that loads with the example's user-profiles", () => {
    const p = loadProduct(restrictedUserProfiles(dir, product!), { schemaDirs: [path.join(repoRoot, 'schemas')] })
    expect(Object.keys(p.spec.access?.outputPorts ?? {})).toEqual(['profiles', 'dlq'])
  })
})

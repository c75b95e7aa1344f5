import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadProduct } from '../../../runtime/product/load.ts'
import { productSpecJsonSchema } from '../../../runtime/spec/schema.ts'
import { profilesAccess, restrictedUserProfiles } from '../../helpers/access.ts'
import { failure, repoRoot, tempDir } from '../../helpers/runtime.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))
const load = (access: string) => {
  const dir = tempDir('trib-access-spec-')
  dirs.push(dir)
  return loadProduct(restrictedUserProfiles(dir, access), { schemaDirs: [path.join(repoRoot, 'schemas')] })
}
const refused = async (access: string) => (await failure(Promise.resolve().then(() => load(access)))).message

describe("a product's access block", () => {
  it('loads', () => {
    expect(load(profilesAccess).spec.access?.outputPorts.profiles?.read).toEqual(['group:analysts', 'group:user-management'])
  })

  it('is refused with the file, line and field path of what is wrong', async () => {
    expect(await refused('access:\n  outputPorts:\n    nope: { read: [a] }\n    dlq: { read: [a] }')).toMatch(/product\.yaml:\d+:\d+ access\.outputPorts\.nope: no output port "nope"/)
    expect(await refused('access:\n  outputPorts:\n    profiles: { read: [a] }')).toMatch(/access\.outputPorts\.dlq: a product that restricts its ports must say who reads its dead letters/)
    expect(await refused('access:\n  outputPorts:\n    dlq: { read: [a], readerPolicies: [{ readers: [a], pii: {} }] }')).toMatch(/access\.outputPorts\.dlq\.readerPolicies/)
    expect(await refused('access:\n  outputPorts:\n    profiles: { reed: [a] }')).toMatch(/access\.outputPorts\.profiles\.reed: unknown field "reed"/)
    expect(await refused('access:\n  control: ["group:"]')).toMatch(/access\.control\[0\]: a principal name, "group:<name>" or "\*"/)
  })

  it("checks reader policies against the port's schema and key", async () => {
    expect(await refused('access:\n  outputPorts:\n    profiles:\n      readerPolicies: [{ readers: [a], pii: { marketing_opt_in: hash } }]')).toMatch(
      /access\.outputPorts\.profiles\.readerPolicies\[0\]\.pii\.marketing_opt_in: "hash" needs a string field/,
    )
    expect(await refused('access:\n  outputPorts:\n    profiles:\n      readerPolicies: [{ readers: [a], pii: { nope: hash } }]')).toMatch(/field "nope" is not in schema users\.UserProfile/)
    expect(await refused('access:\n  outputPorts:\n    profiles:\n      readerPolicies: [{ readers: [a], pii: { user_id: drop } }]')).toMatch(/user_id/)
  })

  it('is in the JSON Schema of `tributary spec-schema`', () => {
    const schema = productSpecJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> }
    expect(Object.keys(schema.properties.access?.properties ?? {})).toEqual(['control', 'outputPorts'])
  })
})

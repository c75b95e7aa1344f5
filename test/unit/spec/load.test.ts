import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TributaryError, type ErrorCode } from '../../../runtime/errors.ts'
import { loadProduct, loadTransform } from '../../../runtime/product/load.ts'
import { loadMesh } from '../../../runtime/product/mesh.ts'
import { productSpecJsonSchema } from '../../../runtime/spec/schema.ts'
import { exampleMesh, productsDir, repoRoot, tempDir } from '../../helpers/runtime.ts'

const good = fs.readFileSync(path.join(productsDir, 'user-profiles', 'product.yaml'), 'utf8')
const dirs: string[] = []

/** A product folder with the given product.yaml (and the real transform), using the repo's schemas. */
function product(yaml: string, transform = "export default () => undefined\n"): string {
  const dir = tempDir('trib-spec-')
  dirs.push(dir)
  fs.writeFileSync(path.join(dir, 'product.yaml'), yaml)
  fs.writeFileSync(path.join(dir, 'transform.ts'), transform)
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function failure(run: () => unknown): TributaryError {
  try {
    run()
  } catch (e) {
    expect(e).toBeInstanceOf(TributaryError)
    return e as TributaryError
  }
  throw new Error('expected an error')
}
const load = (dir: string) => loadProduct(dir, { schemaDirs: [path.join(repoRoot, 'schemas')] })
const expectError = (run: () => unknown, code: ErrorCode, ...parts: RegExp[]) => {
  const e = failure(run)
  expect(e.code).toBe(code)
  for (const p of parts) expect(e.message).toMatch(p)
  return e
}

describe('product spec loading', () => {
  it('loads every example product and orders the mesh producers first', () => {
    expect(exampleMesh().map((p) => p.name)).toEqual(['user-profiles', 'podcast-listeners', 'top-podcasts'])
  })

  it('reports malformed YAML with file, line and column', () => {
    const dir = product('apiVersion: tributary/v1\nkind: [DataProduct\nname: x\n')
    expectError(() => load(dir), 'TRIB_SPEC_PARSE', /product\.yaml:\d+:\d+ /)
  })

  it('reports an unknown field at the field itself, with its path', () => {
    const dir = product(good.replace('      mode: upsert', '      mode: upsert\n      moed: typo'))
    const e = expectError(() => load(dir), 'TRIB_SPEC_INVALID', /product\.yaml:\d+:\d+ outputPorts\[0\]\.snapshot\.moed: unknown field "moed"/)
    const line = Number(/:(\d+):/.exec(e.message)![1])
    expect(fs.readFileSync(path.join(dir, 'product.yaml'), 'utf8').split('\n')[line - 1]).toContain('moed')
  })

  it('says what was expected for a wrong value and for a missing field', () => {
    expectError(() => load(product(good.replace('envelope: debezium', 'envelope: maxwell'))), 'TRIB_SPEC_INVALID', /inputPorts\[0\]\.envelope: expected one of "none", "debezium"/)
    expectError(() => load(product(good.replace(/^domain: users\n/m, ''))), 'TRIB_SPEC_INVALID', /domain: required field missing/)
    expectError(() => load(product(good.replace('partitions: 3', 'partitions: three'))), 'TRIB_SPEC_INVALID', /outputPorts\[0\]\.partitions: expected number/)
  })

  it('collects every problem, not only the first', () => {
    const e = expectError(() => load(product(good.replace('envelope: debezium', 'envelope: x').replace('partitions: 3', 'partitions: 0'))), 'TRIB_SPEC_INVALID', /and 1 more/)
    expect((e.details.issues as unknown[]).length).toBe(2)
  })

  it('checks cross-field rules', () => {
    expectError(() => load(product(good.replace('    key: user_id\n', ''))), 'TRIB_SPEC_INVALID', /outputPorts\[0\]\.key: an upsert snapshot needs a key/)
    expectError(() => load(product(good.replace('topic: user-profiles.profiles', 'topic: user-profiles.dlq'))), 'TRIB_SPEC_INVALID', /reserved for dead letters/)
  })

  it('names a missing schema, and a key field that the schema lacks', () => {
    expectError(() => load(product(good.replace('schema: users.UserProfile', 'schema: users.Nope'))), 'TRIB_SCHEMA_NOT_FOUND', /outputPorts\[0\]\.schema: no schema named "users\.Nope"/)
    expectError(() => load(product(good.replace('key: user_id', 'key: userid'))), 'TRIB_SPEC_INVALID', /outputPorts\[0\]\.key: field "userid" is not in schema users\.UserProfile/)
    expectError(() => load(product(good.replace('pii: {}', 'pii: { marketing_opt_in: hash }'))), 'TRIB_SPEC_INVALID', /"hash" needs a string field/)
  })

  it('checks what the transform exports', async () => {
    const missing = load(product(good, 'export const nothing = 1\n'))
    await expect(loadTransform(missing)).rejects.toMatchObject({ code: 'TRIB_TRANSFORM_INVALID', message: expect.stringMatching(/transform\.ts: must export a transform function/) })
    const broken = load(product(good, 'export default (\n'))
    await expect(loadTransform(broken)).rejects.toMatchObject({ code: 'TRIB_TRANSFORM_INVALID', message: expect.stringMatching(/failed to load/) })
    const named = load(product(good, 'export function transform() { return null }\n'))
    expect(typeof (await loadTransform(named)).transform).toBe('function')
  })

  it('refuses a folder without product.yaml and an unknown product name', () => {
    expectError(() => load(tempDir()), 'TRIB_SPEC_NOT_FOUND', /no product\.yaml/)
    expectError(() => loadMesh(['no-such-product'], [productsDir]), 'TRIB_PRODUCT_NOT_FOUND', /no product named no-such-product \(known: podcast-listeners, top-podcasts, user-profiles\)/)
  })

  it('exports a JSON Schema for editors that describes the ports', () => {
    const schema = productSpecJsonSchema() as { properties: Record<string, unknown>; required: string[] }
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['inputPorts', 'outputPorts', 'slos', 'processing']))
    expect(schema.required).toEqual(expect.arrayContaining(['apiVersion', 'name', 'inputPorts', 'outputPorts']))
  })

  it('refuses what run would refuse when it makes the lake table: a day partition of a string field (issue 10)', () => {
    const dir = product(good.replace('      mode: upsert\n', '      mode: upsert\n      partitionBy: { day: email }\n'))
    expectError(() => load(dir), 'TRIB_SPEC_INVALID', /product\.yaml outputPorts\[0\]\.snapshot: the lake table cannot be made from schema users\.UserProfile: partition field email: day does not apply to type string/)
    const ok = product(good.replace('      mode: upsert\n', '      mode: upsert\n      partitionBy: { bucket: 8 }\n'))
    expect(load(ok).outputs[0]!.spec.snapshot?.partitionBy).toEqual({ bucket: 8 })
  })

  it('refuses two output ports writing one topic with different schemas or keys, in a product or across products', () => {
    const port = (schema: string, key: string) => `  - name: copy\n    topic: user-profiles.profiles\n    schema: ${schema}\n    key: ${key}\n`
    const withPort = (extra: string) => good.replace('      pii: {}\n', `      pii: {}\n${extra}`)
    expectError(() => load(product(withPort(port('podcast.PlayEvent', 'user_id')))), 'TRIB_SPEC_INVALID', /outputPorts\[1\]\.topic: port copy writes topic user-profiles\.profiles with schema podcast\.PlayEvent .* where user-profiles port profiles writes users\.UserProfile/)
    expectError(() => load(product(withPort(port('users.UserProfile', 'email')))), 'TRIB_SPEC_INVALID', /with key \[email\] where user-profiles port profiles uses \[user_id\]/)
    expect(load(product(withPort(port('users.UserProfile', 'user_id')))).outputs).toHaveLength(2)

    const other = product(
      good
        .replace('name: user-profiles', 'name: user-copies')
        .replace(/schema: users\.UserProfile\n/, 'schema: podcast.PlayEvent\n')
        .replace(/ {4}snapshot:[\s\S]*?retention: \{[^}]*\}\n/, ''),
    )
    expectError(() => loadMesh([path.join(productsDir, 'user-profiles'), other], [], { schemaDirs: [path.join(repoRoot, 'schemas')] }), 'TRIB_SPEC_INVALID', /port profiles writes topic user-profiles\.profiles with schema/)
  })
})

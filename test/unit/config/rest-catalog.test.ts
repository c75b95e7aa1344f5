import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Secret } from '../../../runtime/access/secret.ts'
import { loadConfig, redactConfig } from '../../../runtime/config/load.ts'
import { tempDir } from '../../helpers/runtime.ts'

// lake.catalog kind rest: validated at the edge, secrets never printed.
const dir = tempDir('trib-rest-config-')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string): string => {
  const f = path.join(dir, name)
  fs.writeFileSync(f, text)
  return f
}

describe('lake.catalog: rest', () => {
  it('takes uri, warehouse and OAuth2 client credentials from a file, and prints the credential redacted', () => {
    const c = loadConfig({ env: {}, file: file('a.yaml', 'lake:\n  catalog: { kind: rest, uri: "https://polaris.example/api/catalog", warehouse: analytics, credential: "tributary:s3cr3t-value" }\n') })
    expect(c.lake.catalog).toMatchObject({ kind: 'rest', uri: 'https://polaris.example/api/catalog', warehouse: 'analytics', scope: 'catalog', retries: 5 })
    const credential = (c.lake.catalog as { credential: Secret }).credential
    expect(credential.reveal('lake.catalog.credential', {})).toBe('tributary:s3cr3t-value')
    const printed = JSON.stringify(redactConfig(c))
    expect(printed).not.toContain('s3cr3t-value')
    expect((redactConfig(c) as { lake: { catalog: { credential: unknown } } }).lake.catalog.credential).toBe('***')
  })

  it('takes the catalog from the environment, the token as a secret (also from a _FILE)', () => {
    const env = { TRIBUTARY_LAKE_CATALOG: 'rest', TRIBUTARY_LAKE_CATALOG_URI: 'http://127.0.0.1:8181', TRIBUTARY_LAKE_CATALOG_TOKEN_FILE: file('token', 'tok-from-file-0001\n') }
    const c = loadConfig({ env })
    expect((c.lake.catalog as { token: Secret }).token.reveal('lake.catalog.token', {})).toBe('tok-from-file-0001')
    expect(JSON.stringify(redactConfig(c))).not.toContain('tok-from-file-0001')
  })

  it('refuses a catalog without uri, or with both a credential and a token, naming the field', () => {
    expect(() => loadConfig({ env: { TRIBUTARY_LAKE_CATALOG: 'rest' } })).toThrow(expect.objectContaining({ code: 'TRIB_CONFIG_INVALID', message: expect.stringContaining('lake.catalog.uri') }))
    expect(() => loadConfig({ env: {}, file: file('b.yaml', 'lake:\n  catalog: { kind: rest, uri: "http://x:1", credential: "a:b", token: "t" }\n') })).toThrow(
      expect.objectContaining({ code: 'TRIB_CONFIG_INVALID', message: expect.stringContaining('lake.catalog.token') }),
    )
    expect(() => loadConfig({ env: {}, file: file('c.yaml', 'lake:\n  catalog: { kind: file, uri: "http://x:1" }\n') })).toThrow(expect.objectContaining({ code: 'TRIB_CONFIG_INVALID' }))
  })
})

import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig, redactConfig } from '../../../runtime/config/load.ts'
import { tempDir } from '../../helpers/runtime.ts'

describe('runtime configuration', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({ env: {} })
    expect(c).toMatchObject({ dataDir: '.tributary', logLevel: 'info', transport: { kind: 'embedded', fsync: 'never' }, registry: { kind: 'embedded' }, streamThreads: 1 })
    expect(Object.isFrozen(c) && Object.isFrozen(c.transport)).toBe(true)
  })

  it('layers file, then environment, then flags', () => {
    const file = path.join(tempDir(), 'tributary.yaml')
    fs.writeFileSync(file, 'dataDir: /from/file\nlogLevel: debug\ntransport:\n  kind: embedded\n  fsync: always\nstreamThreads: 2\n')
    const c = loadConfig({ file, env: { TRIBUTARY_LOG_LEVEL: 'warn', TRIBUTARY_STREAM_THREADS: '3', TRIBUTARY_PRODUCTS: 'a, b' }, flags: { dataDir: '/from/flag' } })
    expect(c.dataDir).toBe('/from/flag')
    expect(c.logLevel).toBe('warn')
    expect(c.streamThreads).toBe(3)
    expect(c.transport.fsync).toBe('always')
    expect(c.products).toEqual(['a', 'b'])
  })

  it('names the key and where a bad value came from', () => {
    expect(() => loadConfig({ env: { TRIBUTARY_STREAM_THREADS: 'many' } })).toThrow(/config streamThreads \(from environment variable TRIBUTARY_STREAM_THREADS\)/)
    const file = path.join(tempDir(), 'c.yaml')
    fs.writeFileSync(file, 'transport:\n  kind: carrier-pigeon\n')
    expect(() => loadConfig({ file, env: {} })).toThrow(new RegExp(`config transport.kind \\(from ${file}\\)`))
    fs.writeFileSync(file, 'dataDir: x\nunknownKey: 1\n')
    expect(() => loadConfig({ file, env: {} })).toThrow(/unknown key unknownKey/)
    expect(() => loadConfig({ file: '/no/such/file.yaml', env: {} })).toThrow(/config file \/no\/such\/file\.yaml cannot be read \(ENOENT\)/)
  })

  it("groups Kafka commits every 100 ms by default (Kafka Streams' commit interval); the interval and size are validated", () => {
    expect(loadConfig({ env: {} }).transport.kafka).toMatchObject({ commitIntervalMs: 100, commitMaxRecords: 10_000 })
    expect(loadConfig({ env: {}, flags: { 'transport.kafka.commitIntervalMs': 0 } }).transport.kafka.commitIntervalMs).toBe(0)
    const file = path.join(tempDir(), 'k.yaml')
    fs.writeFileSync(file, 'transport:\n  kafka:\n    commitIntervalMs: -5\n')
    expect(() => loadConfig({ file, env: {} })).toThrow(new RegExp(`config transport.kafka.commitIntervalMs \\(from ${file}\\)`))
    fs.writeFileSync(file, 'transport:\n  kafka:\n    commitMaxRecords: 0.5\n')
    expect(() => loadConfig({ file, env: {} })).toThrow(/config transport\.kafka\.commitMaxRecords/)
  })

  it('redacts secrets when printed', () => {
    const printed = JSON.stringify(redactConfig(loadConfig({ env: { TRIBUTARY_PII_SALT: 'super-secret-salt' } })))
    expect(printed).not.toContain('super-secret-salt')
    expect(printed).toContain('"salt":"***"')
  })
})

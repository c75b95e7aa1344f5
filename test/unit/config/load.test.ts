import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { loadConfig, redactConfig, unknownEnvVars } from '../../../runtime/config/load.ts'
import { openRuntime } from '../../../runtime/runtime.ts'
import { failure, repoRoot, tempDir } from '../../helpers/runtime.ts'

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

  it('reads booleans and numbers from the environment strictly (issue 10)', () => {
    expect(loadConfig({ env: { TRIBUTARY_LAKE_ENABLED: 'false', TRIBUTARY_HTTP_PORT: ' 8081 ' } })).toMatchObject({ lake: { enabled: false }, http: { port: 8081 } })
    expect(() => loadConfig({ env: { TRIBUTARY_LAKE_ENABLED: 'maybe' } })).toThrow(
      'config lake.enabled (from environment variable TRIBUTARY_LAKE_ENABLED): expected true or false, got "maybe"',
    )
    expect(loadConfig({ env: { TRIBUTARY_KAFKA_SSL: 'TRUE ' } }).transport.kafka.ssl).toBe(true)
    expect(() => loadConfig({ env: { TRIBUTARY_KAFKA_SSL: 'yes' } })).toThrow(/TRIBUTARY_KAFKA_SSL\): expected true or false/)
    expect(() => loadConfig({ env: { TRIBUTARY_HTTP_PORT: '80x' } })).toThrow('config http.port (from environment variable TRIBUTARY_HTTP_PORT): expected a number, got "80x"')
  })

  it('refuses a lake URI no storage adapter serves, at load (so config --print does too)', () => {
    for (const uri of ['file:///lake', '/data/lake', 'relative/lake', 's3://bucket/prefix']) expect(loadConfig({ env: { TRIBUTARY_LAKE_URI: uri } }).lake.uri).toBe(uri)
    expect(() => loadConfig({ env: { TRIBUTARY_LAKE_URI: 'ftp://host/lake' } })).toThrow(/^config lake\.uri \(from environment variable TRIBUTARY_LAKE_URI\): a lake URI is file:\/\/\/path, a path, or s3:\/\/bucket\/prefix/)
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), 'config', '--print'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LAKE_URI: 'ftp://host/lake' } })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error TRIB_CONFIG_INVALID: config lake\.uri/)
  })

  it('names the TRIBUTARY_* variables it does not know, once', () => {
    expect(unknownEnvVars({ TRIBUTARY_LAKE_ENABLD: 'true', TRIBUTARY_CONFIG: 'x.yaml', TRIBUTARY_DATA_DIR: 'd', TRIBUTARY_TEST_KAFKA: '1', HOME: '/' })).toEqual(['TRIBUTARY_LAKE_ENABLD'])
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), 'config'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LAKE_ENABLD: 'false', TRIBUTARY_LOG_LEVEL: 'warn' } })
    expect(r.status).toBe(0)
    expect(r.stderr.match(/TRIBUTARY_LAKE_ENABLD/g)).toHaveLength(1)
  })

  it('an unknown log level is a clean configuration error, not a stack from the logger', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), 'config'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'loud' } })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error TRIB_CONFIG_INVALID: config logLevel \(from environment variable TRIBUTARY_LOG_LEVEL\)/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('refuses an unusable data folder at once (Node\'s recursive mkdir never returns on /proc)', { timeout: 10_000 }, async () => {
    const file = path.join(tempDir(), 'a-file')
    fs.writeFileSync(file, '')
    for (const [dataDir, why] of [
      ['/proc/nope', /config dataDir: \/proc\/nope cannot be created \(ENOENT/],
      [file, /is not a folder/],
      [path.join(file, 'below'), /cannot be used \(ENOTDIR/],
    ] as const) {
      const e = await failure(openRuntime(loadConfig({ env: {}, flags: { dataDir } })))
      expect(e.code).toBe('TRIB_CONFIG_INVALID')
      expect(e.message).toMatch(why)
    }
    // Read-only, a folder that is not there yet is an empty one, and stays not there.
    const nowhere = path.join(tempDir(), 'not-yet')
    const runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: nowhere } }), { readOnly: true })
    expect(await runtime.log.listTopics()).toEqual([])
    await runtime.close()
    expect(fs.existsSync(nowhere)).toBe(false)
  })
})

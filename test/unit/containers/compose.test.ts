import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../runtime/config/load.ts'
import { envVars } from '../../../runtime/config/schema.ts'
import { compose, envOf, onHost, products, services, tributaries } from '../../helpers/compose.ts'
import { repoRoot } from '../../helpers/runtime.ts'

/**
 * docker-compose.yml and the Dockerfile, checked without a container engine: every TRIBUTARY_*
 * variable is real configuration that loads, services and volumes referred to exist, host ports do
 * not collide, products point at product folders, the image has its stages, user, health check and
 * entry point. The Compose client's own check and the containers' commands run in
 * test/e2e/containers.test.ts.
 */

describe('docker-compose.yml', () => {
  it('runs the Tributary image for every example product and the sample-data loader', () => {
    const productDirs = fs.readdirSync(path.join(repoRoot, 'products')).filter((d) => fs.existsSync(path.join(repoRoot, 'products', d, 'product.yaml')))
    expect(products.map(([name]) => name).sort()).toEqual(productDirs.sort())
    expect(tributaries.map(([name]) => name)).toContain('sample-data')
    for (const name of ['kafka', 'schema-registry', 'minio', 'minio-init']) expect(compose.services[name], name).toBeDefined()
  })

  it('sets only real configuration: TRIBUTARY_* keys of envVars, plus the AWS credential chain', () => {
    for (const [name, s] of services) {
      for (const key of Object.keys(envOf(s))) {
        if (key.startsWith('TRIBUTARY_')) expect(Object.keys(envVars), `${name}: ${key}`).toContain(key)
        else if (s.build !== undefined) expect(key, `${name}: ${key} is neither a TRIBUTARY_* variable nor AWS_*`).toMatch(/^AWS_[A-Z_]+$/)
      }
    }
  })

  it("loads each Tributary service's environment as a valid production configuration", () => {
    for (const [name, s] of tributaries) {
      const config = loadConfig({ env: envOf(s) })
      expect(config.transport.kind, name).toBe('kafka')
      expect(config.registry.kind, name).toBe('confluent')
      expect(config.lake.uri, name).toMatch(/^s3:\/\/[a-z0-9.-]+\//)
      // Backends are addressed by service name and a port the service listens on.
      for (const broker of config.transport.kafka.brokers) {
        const [host, port] = broker.split(':')
        expect(compose.services[host!], `${name}: broker ${broker}`).toBeDefined()
        expect(envOf(compose.services[host!]!).KAFKA_LISTENERS, `${name}: broker ${broker}`).toMatch(new RegExp(`://:${port}(,|$)`))
      }
      const registry = new URL(config.registry.url!)
      expect(compose.services[registry.hostname], `${name}: ${registry}`).toBeDefined()
      expect(envOf(compose.services[registry.hostname]!).SCHEMA_REGISTRY_LISTENERS).toContain(`:${registry.port}`)
      const s3 = new URL(config.lake.s3.endpoint!)
      expect(compose.services[s3.hostname], `${name}: ${s3}`).toBeDefined()
      expect(config.lake.s3.forcePathStyle, name).toBe(true)
      const env = envOf(s)
      expect(env.AWS_ACCESS_KEY_ID, name).toBe(envOf(compose.services[s3.hostname]!).MINIO_ROOT_USER)
      expect(env.AWS_SECRET_ACCESS_KEY, name).toBe(envOf(compose.services[s3.hostname]!).MINIO_ROOT_PASSWORD)
    }
  })

  it('creates the lake bucket before the products start', () => {
    const bucket = new URL(loadConfig({ env: envOf(products[0]![1]) }).lake.uri!).hostname
    const init = compose.services['minio-init']!
    expect([init.entrypoint, init.command].flat().join(' ')).toContain(`/${bucket}`)
    for (const [name, s] of tributaries) expect((s.depends_on as Record<string, { condition?: string }>)['minio-init'], name).toEqual({ condition: 'service_completed_successfully' })
  })

  it("points each product service's TRIBUTARY_PRODUCTS at a product folder in the image", () => {
    for (const [name, s] of products) {
      const dirs = envOf(s).TRIBUTARY_PRODUCTS!.split(',')
      for (const dir of dirs) {
        expect(dir, name).toMatch(/^\/app\/products\//)
        expect(fs.existsSync(path.join(onHost(dir), 'product.yaml')), `${name}: ${dir}/product.yaml`).toBe(true)
      }
    }
  })

  it('depends only on defined services, waiting for health only where there is a health check', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully']
    for (const [name, s] of services) {
      const deps: Record<string, { condition?: string }> = Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {})
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined()
        if (condition !== undefined) expect(conditions, `${name} -> ${dep}`).toContain(condition)
        // The Tributary image brings its own HEALTHCHECK.
        if (condition === 'service_healthy') expect(compose.services[dep]!.healthcheck ?? compose.services[dep]!.build, `${name} waits for ${dep} to be healthy`).toBeDefined()
      }
    }
  })

  it('publishes each host port once, and declares the named volumes it uses', () => {
    const published = new Map<string, string>()
    for (const [name, s] of services) {
      for (const p of s.ports ?? []) {
        const host = typeof p === 'object' ? String(p.published) : String(p).split(':').slice(-2, -1)[0]
        if (!host) continue
        expect(published.get(host), `port ${host}: ${name} and ${published.get(host)}`).toBeUndefined()
        published.set(host, name)
      }
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'object' ? v.source : v.split(':')[0]
        if (source && !source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source)
      }
    }
    expect(published.size).toBeGreaterThanOrEqual(7)
  })
})

describe('Dockerfile', () => {
  const text = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/)
      return { op: op!.toUpperCase(), args: rest.join(' ') }
    })
  const stages: Array<{ from: string; name: string; body: typeof instructions }> = []
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!
      stages.push({ from: m[1]!, name: m[2] ?? '', body: [] })
    } else stages.at(-1)?.body.push(i)
  }
  const final = stages.at(-1)!
  const last = (op: string) => final.body.filter((i) => i.op === op).at(-1)?.args

  it('builds in stages on node:20-bookworm-slim, installing production dependencies in their own stage', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1]
    expect(base).toBe('node:20-bookworm-slim')
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const s of stages) expect(s.from).toBe('${NODE_IMAGE}')
    const deps = stages.find((s) => s.body.some((i) => i.op === 'RUN' && /\bnpm (ci|install)\b.*--omit=dev/.test(i.args)))
    expect(deps, 'a stage installs with --omit=dev').toBeDefined()
    expect(deps).not.toBe(final)
    expect(final.body.some((i) => i.op === 'COPY' && i.args.includes(`--from=${deps!.name}`) && i.args.includes('node_modules'))).toBe(true)
    expect(final.body.some((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)), 'no install in the runtime stage').toBe(false)
  })

  it('runs as a non-root user, with a health check on /healthz, `node runtime/cli/bin.js` as entry point and `serve` as command', () => {
    const user = last('USER')
    expect(user).toBeDefined()
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/)
    expect(last('HEALTHCHECK')).toMatch(/CMD node -e .*\/healthz/)
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual(['node', 'runtime/cli/bin.js'])
    expect(JSON.parse(last('CMD')!)).toEqual(['serve'])
    expect(final.body.findIndex((i) => i.op === 'USER')).toBeGreaterThan(final.body.findLastIndex((i) => i.op === 'RUN'))
  })

  it('sets only real TRIBUTARY_* variables', () => {
    const keys = final.body.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1]!))
    expect(keys).toContain('TRIBUTARY_DATA_DIR')
    for (const k of keys.filter((k) => k.startsWith('TRIBUTARY_'))) expect(Object.keys(envVars)).toContain(k)
    const dataDir = /TRIBUTARY_DATA_DIR=(\S+)/.exec(text)![1]!
    expect(last('VOLUME')).toContain(dataDir)
  })

  it('.dockerignore keeps local state, caches, dependencies and history out of the build context', () => {
    const ignored = fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    for (const entry of ['.git', '.cache', '.tributary']) expect(ignored).toContain(entry)
    expect(ignored.some((l) => l === 'node_modules' || l === '**/node_modules')).toBe(true)
  })
})

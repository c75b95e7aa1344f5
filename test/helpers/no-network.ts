import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterEach } from 'vitest'

/**
 * The unit tier's guard (a vitest setup file): a test that opens a TCP connection to another host,
 * or to a port of the test servers on this one (Kafka, S3, the CDC source), fails naming it. Unit
 * tests may talk to servers they start themselves on loopback (an HTTP port on a free port).
 * Every TCP client in Node.js (net, http, fetch, kafkajs, the AWS SDK) connects through
 * `net.Socket.prototype.connect`, so that is where the guard sits; the connection is refused at
 * once, and the test fails afterwards even if the code under test swallowed the error.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..')

/** The test servers' ports: the fixed ones of test/infra/infra.sh, those set by env, and the CDC source's. */
export function serverPorts(env: NodeJS.ProcessEnv = process.env): Set<number> {
  const ports = new Set([19092, 19093, 19000])
  for (const v of [env.KAFKA_PORT, env.S3_PORT]) if (v) ports.add(Number(v))
  for (const url of [env.TRIBUTARY_TEST_KAFKA, env.TRIBUTARY_TEST_S3]) {
    for (const one of url?.split(',') ?? []) {
      const m = /:(\d+)\/?$/.exec(one.trim())
      if (m) ports.add(Number(m[1]))
    }
  }
  try {
    const state = JSON.parse(fs.readFileSync(path.join(repoRoot, '.cache/cdc/state.json'), 'utf8')) as { postgres?: { port?: number }; connect?: { port?: number } }
    for (const p of [state.postgres?.port, state.connect?.port]) if (p) ports.add(p)
  } catch {
    // No CDC source was ever started here.
  }
  return ports
}

const loopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\.\d+\.\d+\.\d+$/i.test(host)

/** Why a connection to host:port is refused, or undefined when a unit test may open it. */
export function refusal(host: string | undefined, port: number, ports: ReadonlySet<number>): string | undefined {
  const h = (host ?? 'localhost').replace(/^\[|\]$/g, '')
  if (!loopback(h)) return `a connection to ${h}:${port} (not loopback)`
  if (ports.has(port)) return `a connection to the test server port ${h}:${port}`
  return undefined
}

/** Host and port of a `Socket#connect` call (options, an array net.connect normalised, or port and host); undefined for a Unix socket. */
function target(args: unknown[]): { host: string | undefined; port: number } | undefined {
  let first = args[0]
  if (Array.isArray(first)) first = first[0]
  if (typeof first === 'object' && first !== null) {
    const o = first as { path?: string; port?: number | string; host?: string }
    if (o.path !== undefined) return undefined
    return { host: o.host, port: Number(o.port) }
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return { host: typeof args[1] === 'string' ? args[1] : undefined, port: Number(first) }
  return undefined
}

const violations: string[] = []

/** The refused connections so far, cleared: for the guard's own test. */
export function takeViolations(): string[] {
  return violations.splice(0)
}

const ports = serverPorts()
const connect = net.Socket.prototype.connect as (this: net.Socket, ...args: unknown[]) => net.Socket
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
  const t = target(args)
  const why = t && refusal(t.host, t.port, ports)
  if (why === undefined) return connect.apply(this, args)
  violations.push(why)
  const error = Object.assign(new Error(`unit tests open no connections to servers: ${why} (test/helpers/no-network.ts)`), { code: 'ECONNREFUSED' })
  process.nextTick(() => this.destroy(error))
  return this
} as typeof net.Socket.prototype.connect

afterEach(() => {
  const seen = takeViolations()
  if (seen.length > 0) throw new Error(`a unit test opened ${seen.length} connection(s) to servers: ${[...new Set(seen)].join('; ')}. Move it to the contract or integration tier.`)
})

import http from 'node:http'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { refusal, serverPorts, takeViolations } from '../../helpers/no-network.ts'

/** The unit tier's network guard (test/helpers/no-network.ts), installed by the tier's setup file. */

const connectError = (host: string, port: number): Promise<NodeJS.ErrnoException> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    socket.once('connect', () => (socket.destroy(), reject(new Error(`connected to ${host}:${port}`))))
    socket.once('error', resolve)
  })

describe('unit tests open no connections to servers', () => {
  it('refuses other hosts and the test servers’ ports, allows other loopback ports', () => {
    const ports = serverPorts({ TRIBUTARY_TEST_KAFKA: '127.0.0.1:29092,localhost:29093', TRIBUTARY_TEST_S3: 'http://127.0.0.1:29000/' })
    for (const p of [19092, 19093, 19000, 29092, 29093, 29000]) expect(ports.has(p), String(p)).toBe(true)
    expect(refusal('10.1.2.3', 80, ports)).toMatch(/10\.1\.2\.3:80 \(not loopback\)/)
    expect(refusal('example.com', 443, ports)).toMatch(/not loopback/)
    expect(refusal('127.0.0.1', 19092, ports)).toMatch(/test server port/)
    expect(refusal('[::1]', 29000, ports)).toMatch(/test server port/)
    for (const host of ['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1', undefined]) expect(refusal(host, 40_000, ports)).toBeUndefined()
  })

  it('fails a connection to the shared broker at once, without reaching it, and records it', async () => {
    const e = await connectError('127.0.0.1', 19092)
    expect(e.code).toBe('ECONNREFUSED')
    expect(e.message).toMatch(/test server port 127\.0\.0\.1:19092/)
    // fetch goes through the same socket.
    await expect(fetch('http://127.0.0.1:19000/')).rejects.toThrow()
    expect(await connectError('192.0.2.1', 9092)).toMatchObject({ code: 'ECONNREFUSED' })
    // Taken here, so that the guard's afterEach does not fail this test.
    expect(takeViolations()).toEqual([
      'a connection to the test server port 127.0.0.1:19092',
      'a connection to the test server port 127.0.0.1:19000',
      'a connection to 192.0.2.1:9092 (not loopback)',
    ])
  })

  it('lets a test talk to a server it started on loopback', async () => {
    const server = http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    try {
      const { port } = server.address() as net.AddressInfo
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok')
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
    expect(takeViolations()).toEqual([])
  })
})

import { randomUUID } from 'node:crypto'
import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../runtime/config/load.ts'
import { isTributaryError, type TributaryError } from '../../runtime/errors.ts'
import { readToEnd, type Log } from '../../runtime/log/log.ts'
import { loadMesh } from '../../runtime/product/mesh.ts'
import type { Product } from '../../runtime/product/load.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import type { Serde } from '../../runtime/codec/avro/serde.ts'
import { peekSchemaId } from '../../runtime/codec/avro/wire.ts'

export const repoRoot = path.resolve(import.meta.dirname, '../..')
export const productsDir = path.join(repoRoot, 'products')

export const tempDir = (prefix = 'trib-'): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** The package's name: what product code imports (`import { defineTransform } from 'tributary-runtime'`). */
export const packageName = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string }).name

/** Makes this checkout the package that product folders under `dir` import, as an install would. */
export function linkPackage(dir: string): void {
  const link = path.join(dir, 'node_modules', packageName)
  fs.mkdirSync(path.dirname(link), { recursive: true })
  if (!fs.existsSync(link)) fs.symlinkSync(repoRoot, link, 'dir')
}

/** A name no other test run uses (topics, groups, subjects). */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** The TributaryError a promise rejects with; anything else (or fulfilment) fails the test. */
export async function failure(p: Promise<unknown>): Promise<TributaryError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (!isTributaryError(e)) throw new Error(`expected a TributaryError, got ${String(e)}`)
  return e
}

/**
 * The environment tests give loadConfig: nothing of the developer's, but the fast-path switch, so
 * the e2e suite runs both ways (test/vitest.config.ts runs it again with TRIBUTARY_FAST_PATHS=off).
 */
export const testEnv = (): NodeJS.ProcessEnv => (process.env.TRIBUTARY_FAST_PATHS ? { TRIBUTARY_FAST_PATHS: process.env.TRIBUTARY_FAST_PATHS } : {})

/** An embedded runtime in a fresh temporary data folder. */
export async function tempRuntime(): Promise<{ runtime: Runtime; dir: string; cleanup: () => Promise<void> }> {
  const dir = tempDir()
  const runtime = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir: dir } }))
  return {
    runtime,
    dir,
    cleanup: async () => {
      await runtime.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

export const exampleMesh = (): Product[] => loadMesh([], [productsDir])

/** Every record of a topic, read from the start to the end as it is now. */
export const readTopic = readToEnd

/** Decoded key and value (plain objects) of every record of a topic. */
export async function readDecoded(log: Log, serde: Serde, topic: string): Promise<Array<{ partition: number; offset: number; key: unknown; value: unknown; headers: Record<string, string> }>> {
  const records = await readTopic(log, topic)
  const ids = new Set<number>()
  for (const r of records) for (const b of [r.key, r.value]) if (b && peekSchemaId(b) !== undefined) ids.add(peekSchemaId(b)!)
  await serde.prefetch(ids)
  const plain = (v: unknown) => (v === null || v === undefined ? v : JSON.parse(JSON.stringify(v)))
  // Dead letters may hold bytes that do not decode: those come back as text.
  const decode = (b: Buffer | null): unknown => {
    if (b === null) return null
    if (peekSchemaId(b) !== undefined) {
      try {
        return plain(serde.decode(b).value)
      } catch {
        return b.toString()
      }
    }
    return b.toString()
  }
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: decode(r.key),
    value: decode(r.value),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
  }))
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((r) => server.close(r))
  return port
}

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'
import { openMemoryLog, type MemoryLog } from '../../../connectors/memory-log/index.ts'
import { openMemoryRegistry } from '../../../connectors/registry/embedded/registry.ts'
import { createCodec, type Codec } from '../../../runtime/codec/index.ts'
import { dlqHeaders } from '../../../runtime/log/dead-letters.ts'
import type { Log } from '../../../runtime/log/log.ts'
import { Processor } from '../../../runtime/processor/processor.ts'
import { loadProduct, type Product } from '../../../runtime/product/load.ts'
import type { TransformModule } from '../../../runtime/product/transform.ts'
import { registerSchemaFiles } from '../../../runtime/runtime.ts'
import { MemoryStateDb } from '../../../runtime/state/db.ts'
import { schemaDirsFor } from '../../../runtime/spec/schemas.ts'
import { type TickProduct, writeTickProduct } from '../../helpers/products.ts'

/**
 * A tick product (test/helpers/products.ts: JSON ticks in, Avro out) on the memory log and the
 * registry held in memory, for the unit tests of the processor and the compactor; what a test
 * opens is closed after it.
 */
export const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

export interface Setup {
  product: Product
  log: MemoryLog
  codec: Codec
  processor(module: TransformModule, log?: Log): Promise<Processor>
  send(...values: Array<object | string>): Promise<void>
  outputs(): Array<Record<string, unknown>>
  deadLetters(): Array<Record<string, string | undefined>>
  committed(): Promise<number>
  /** A temp folder removed after the test. */
  root: string
}

export async function setup(options: TickProduct = {}): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-processor-'))
  cleanup.push(() => fs.rmSync(root, { recursive: true, force: true }))
  const product = loadProduct(writeTickProduct(root, 'ticks', options))
  const log = openMemoryLog()
  const registry = await openMemoryRegistry()
  cleanup.push(() => registry.close(), () => log.close())
  await registerSchemaFiles(registry, schemaDirsFor(product.dir))
  const codec = createCodec(registry)
  const topic = product.inputs[0]!.spec.topic
  await log.ensureTopic(topic)
  const outTopic = product.outputs[0]!.spec.topic
  return {
    root,
    product,
    log,
    codec,
    async processor(module, over = log) {
      const p = new Processor(product, { module, log: over, codec, stateDir: '(memory)', piiSalt: 'salt', openState: () => new MemoryStateDb() })
      cleanup.push(() => p.close())
      await p.start()
      return p
    },
    async send(...values) {
      await log.append(values.map((v) => ({ topic, key: null, value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)) })))
    },
    outputs: () => log.appended(outTopic).map((r) => ({ ...(codec.serde.decode(r.value!).value as Record<string, unknown>) })),
    deadLetters: () =>
      log.appended(product.dlqTopic).map((r) => ({
        code: r.headers[dlqHeaders.code]?.toString(),
        stage: r.headers[dlqHeaders.stage]?.toString(),
        offset: r.headers[dlqHeaders.offset]?.toString(),
        value: r.value?.toString(),
      })),
    committed: async () => (await log.groupOffsets(product.name)).find((o) => o.topic === topic)?.offset ?? 0,
  }
}

/** `target` with some members replaced; the others bound to it (its private fields need it as the receiver). */
export function overriding<T extends object>(target: T, members: Partial<T>): T {
  return new Proxy(target, {
    get: (t, k) => {
      if (k in members) return (members as Record<PropertyKey, unknown>)[k]
      const v = Reflect.get(t, k, t) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
    },
  })
}

export const copy: TransformModule = { transform: (r: { value: object }) => ({ port: 'out', value: r.value }) }
export const drain = async (p: Processor) => {
  while ((await p.step(0)) > 0 || !p.idle());
}

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { openMemoryLog, type MemoryLog } from '../../../connectors/memory-log/index.ts'
import { openMemoryRegistry } from '../../../connectors/registry/embedded/registry.ts'
import { createCodec, type Codec } from '../../../runtime/codec/index.ts'
import { dlqHeaders } from '../../../runtime/log/dead-letters.ts'
import type { Consumer, Log } from '../../../runtime/log/log.ts'
import { Processor } from '../../../runtime/processor/processor.ts'
import { loadProduct, type Product } from '../../../runtime/product/load.ts'
import type { TransformModule } from '../../../runtime/product/transform.ts'
import { registerSchemaFiles } from '../../../runtime/runtime.ts'
import { MemoryStateDb } from '../../../runtime/state/db.ts'
import { schemaDirsFor } from '../../../runtime/spec/schemas.ts'
import { writeTickProduct } from '../../helpers/products.ts'

/**
 * The processor loop on the memory log and the registry held in memory: what one step reads,
 * commits and dead-letters. A tick product (test/helpers/products.ts): JSON ticks in, Avro out.
 */
const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

interface Setup {
  product: Product
  log: MemoryLog
  codec: Codec
  processor(module: TransformModule, log?: Log): Promise<Processor>
  send(...values: Array<object | string>): Promise<void>
  outputs(): Array<Record<string, unknown>>
  deadLetters(): Array<Record<string, string | undefined>>
  committed(): Promise<number>
}

async function setup(processing?: string): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-processor-'))
  cleanup.push(() => fs.rmSync(root, { recursive: true, force: true }))
  const product = loadProduct(writeTickProduct(root, 'ticks', processing ? { processing } : {}))
  const log = openMemoryLog()
  const registry = await openMemoryRegistry()
  cleanup.push(() => registry.close(), () => log.close())
  await registerSchemaFiles(registry, schemaDirsFor(product.dir))
  const codec = createCodec(registry)
  const topic = product.inputs[0]!.spec.topic
  await log.ensureTopic(topic)
  const outTopic = product.outputs[0]!.spec.topic
  return {
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
function overriding<T extends object>(target: T, members: Partial<T>): T {
  return new Proxy(target, {
    get: (t, k) => {
      if (k in members) return (members as Record<PropertyKey, unknown>)[k]
      const v = Reflect.get(t, k, t) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
    },
  })
}

const copy: TransformModule = { transform: (r: { value: object }) => ({ port: 'out', value: r.value }) }
const drain = async (p: Processor) => {
  while ((await p.step(0)) > 0 || !p.idle());
}

describe('the processor loop', () => {
  it('commits the outputs with the input offsets they cover, in one step', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    const p = await s.processor(copy)
    expect(await p.step(0)).toBe(2)
    await p.flush()
    expect(s.outputs()).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ])
    expect(await s.committed()).toBe(2)
  })

  it('a failed commit leaves neither outputs nor offsets, and the restarted processor emits each record once', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, { id: 2, note: 'b' })
    // A log whose first commit fails: were outputs written apart from the offsets, they would be
    // there after the failure, and again after the restart.
    let failures = 1
    const faultyCommit = (c: Consumer) => (step: Parameters<Consumer['commit']>[0]) => (failures-- > 0 ? Promise.reject(new Error('commit lost')) : c.commit(step))
    const faulty = overriding(s.log, { consumer: (o: Parameters<Log['consumer']>[0]) => {
      const c = s.log.consumer(o)
      return overriding(c, { commit: faultyCommit(c) })
    } })
    const first = await s.processor(copy, faulty)
    await expect((async () => {
      await first.step(0)
      await first.flush()
    })()).rejects.toThrow(/commit lost/)
    expect(s.outputs()).toEqual([])
    expect(await s.committed()).toBe(0)
    await first.close()
    const second = await s.processor(copy)
    await drain(second)
    expect(s.outputs().map((o) => o.id)).toEqual([1, 2])
    expect(await s.committed()).toBe(2)
  })

  it('dead-letters bad records with code, stage and source offset, in the same commit, and goes on', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' }, 'not json', { id: 'x', note: 'b' }, { id: 4, note: 'throw' }, { id: 5, note: 'e' })
    const p = await s.processor({
      transform: (r: { value: { note: string } }) => {
        if (r.value.note === 'throw') throw new Error('no such note')
        return { port: 'out', value: r.value }
      },
    })
    await drain(p)
    expect(s.outputs().map((o) => o.id)).toEqual([1, 5])
    expect(s.deadLetters()).toEqual([
      { code: 'TRIB_DECODE_JSON', stage: 'decode', offset: '1', value: 'not json' },
      { code: 'TRIB_VALIDATE_TYPE', stage: 'validate', offset: '2', value: '{"id":"x","note":"b"}' },
      { code: 'TRIB_TRANSFORM_FAILED', stage: 'transform', offset: '3', value: '{"id":4,"note":"throw"}' },
    ])
    expect(await s.committed()).toBe(5)
  })

  it('a transform output that does not fit the port schema is an encode dead letter', async () => {
    const s = await setup()
    await s.send({ id: 1, note: 'a' })
    const p = await s.processor({ transform: () => ({ port: 'out', value: { id: 'not a long', note: 'a' } }) })
    await drain(p)
    expect(s.outputs()).toEqual([])
    expect(s.deadLetters()).toEqual([{ code: 'TRIB_ENCODE_FAILED', stage: 'encode', offset: '0', value: '{"id":1,"note":"a"}' }])
  })

  it('a transform that does not settle within transformTimeout is dead-lettered TRIB_TRANSFORM_TIMEOUT; later records go on', async () => {
    const s = await setup('{ transformTimeout: 100ms }')
    await s.send({ id: 1, note: 'hang' }, { id: 2, note: 'b' })
    const p = await s.processor({ transform: (r: { value: { note: string } }) => (r.value.note === 'hang' ? new Promise(() => {}) : { port: 'out', value: r.value }) })
    await drain(p)
    expect(s.outputs().map((o) => o.id)).toEqual([2])
    expect(s.deadLetters()).toEqual([{ code: 'TRIB_TRANSFORM_TIMEOUT', stage: 'transform', offset: '0', value: '{"id":1,"note":"hang"}' }])
    expect(await s.committed()).toBe(2)
  })

  it('a stop requested while a poll waits leaves what it returns unprocessed and uncommitted, for the next start', async () => {
    const s = await setup()
    const p = await s.processor(copy)
    const polled = p.step(5_000)
    await sleep(50)
    p.requestStop()
    await s.send({ id: 1, note: 'a' })
    expect(await polled).toBe(0)
    // Nothing more is read once stopped, either.
    expect(s.outputs()).toEqual([])
    expect(await s.committed()).toBe(0)
    await p.close()
    const next = await s.processor(copy)
    await drain(next)
    expect(s.outputs()).toEqual([{ id: 1, note: 'a' }])
    expect(await s.committed()).toBe(1)
  })
})


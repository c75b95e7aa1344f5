import { openMemoryLog } from '../../connectors/memory-log/index.ts'
import { openMemoryRegistry } from '../../connectors/registry/embedded/registry.ts'
import { materialize } from '../compactor/materialize.ts'
import { snapshotTargets } from '../compactor/targets.ts'
import type { LogRecord } from '../log/log.ts'
import { dlqHeaders } from '../log/dead-letters.ts'
import { keyExtractor } from '../product/keys.ts'
import { Processor } from '../processor/processor.ts'
import type { Product } from '../product/load.ts'
import { createCodec, type Serde } from '../codec/index.ts'
import { peekSchemaId } from '../codec/avro/wire.ts'
import { registerSchemaFiles } from '../runtime.ts'
import { MemoryStateDb } from '../state/db.ts'
import { schemaDirsFor } from '../spec/schemas.ts'
import { compareSequences, compareSets } from './compare.ts'
import type { Fixture } from './fixtures.ts'
import { inputEncoder } from './inputs.ts'
import { pushAll } from '../util/arrays.ts'

export interface CaseResult {
  product: string
  case: string
  passed: boolean
  inputs: number
  outputs: number
  deadLetters: number
  problems: string[]
}

export interface DriverOptions {
  piiSalt: string
  schemaDirs?: readonly string[]
}

/**
 * Runs a product over one fixture case in memory, as Kafka Streams' TopologyTestDriver does: a
 * memory log, the embedded registry held in memory, state stores in memory, the real processor
 * (decoders, contract checks, transform, PII policies, encoders, dead letters), and the compactor's
 * materialisation of each snapshot port (upsert or append) without Parquet. Table-mode inputs are
 * read before the stream inputs; stream records are processed in file order. Nothing touches disk.
 */
export async function runCase(product: Product, fixture: Fixture, options: DriverOptions): Promise<CaseResult> {
  const log = openMemoryLog({ defaultPartitions: 1 })
  const registry = await openMemoryRegistry()
  const codec = createCodec(registry)
  const serde = codec.serde
  try {
    await registerSchemaFiles(registry, schemaDirsFor(product.dir, options.schemaDirs))
    const ordered = [...product.inputs].sort((a, b) => Number(b.spec.mode === 'table') - Number(a.spec.mode === 'table'))
    let index = 0
    for (const port of ordered) {
      await log.ensureTopic(port.spec.topic, { partitions: 1 })
      const lines = fixture.inputs.get(port.spec.name) ?? []
      const encode = await inputEncoder(port, serde)
      const records = []
      for (const line of lines) records.push(await encode(line, index++))
      await log.append(records)
    }
    const processor = new Processor(product, {
      log,
      codec,
      stateDir: '(memory)',
      piiSalt: options.piiSalt,
      openState: () => new MemoryStateDb(),
    })
    await processor.start()
    try {
      while ((await processor.step(0)) > 0 || !processor.idle());
    } finally {
      await processor.close()
    }

    const problems: string[] = []
    let outputs = 0
    for (const port of product.outputs) {
      const actual = await decodeAll(serde, log.appended(port.spec.topic))
      outputs += actual.length
      const expected = fixture.outputs.get(port.spec.name) ?? []
      const withKeys = expected.some((e) => 'key' in e)
      pushAll(problems, compareSequences(`${port.spec.name}`, expected.map((e) => (withKeys ? { key: e.key, value: e.value } : e.value)), actual.map((a) => (withKeys ? a : a.value))))
      const rows = fixture.snapshots.get(port.spec.name)
      const target = snapshotTargets(product).find((t) => t.kind === 'port' && t.port === port.spec.name)
      if (rows && target) {
        const keyOf = keyExtractor(port) ?? (() => null)
        const appended = log.appended(port.spec.topic)
        const table = materialize(target, keyOf, actual.map((a, i) => ({ ...(a as { key: unknown; value: Record<string, unknown> | null }), headers: appended[i]!.headers })))
        pushAll(problems, compareSets(`table ${product.name}.${port.spec.name}`, rows, table))
      }
    }
    const dead = log.appended(product.dlqTopic).map(deadLetterView)
    problems.push(
      ...compareSequences(
        'dead letter',
        fixture.deadLetters.map(({ line: _, ...e }) => e),
        dead.map((d, i) => pick(d, fixture.deadLetters[i])),
      ),
    )
    const inputs = [...fixture.inputs.values()].reduce((n, l) => n + l.length, 0)
    return { product: product.name, case: fixture.name, passed: problems.length === 0, inputs, outputs, deadLetters: dead.length, problems }
  } finally {
    await log.close()
    await registry.close()
  }
}

async function decodeAll(serde: Serde, records: readonly LogRecord[]): Promise<Array<{ key: unknown; value: unknown }>> {
  const ids = new Set<number>()
  for (const r of records) for (const b of [r.key, r.value]) if (b && peekSchemaId(b) !== undefined) ids.add(peekSchemaId(b)!)
  await serde.prefetch(ids)
  const decode = (b: Buffer | null) => (b === null ? null : peekSchemaId(b) !== undefined ? serde.decode(b).value : b.toString('utf8'))
  return records.map((r) => ({ key: decode(r.key), value: decode(r.value) }))
}

interface DeadLetterView {
  port: string | undefined
  code: string | undefined
  stage: string | undefined
  offset: number | undefined
  message: string | undefined
}

function deadLetterView(r: LogRecord): DeadLetterView {
  const h = (name: string) => r.headers[name]?.toString('utf8')
  const offset = h(dlqHeaders.offset)
  return { port: h(dlqHeaders.port), code: h(dlqHeaders.code), stage: h(dlqHeaders.stage), offset: offset === undefined ? undefined : Number(offset), message: h(dlqHeaders.message) }
}

/** The fields a fixture line checks; a message matches when it contains the expected text. */
function pick(actual: DeadLetterView, expected: Partial<DeadLetterView> | undefined): Partial<DeadLetterView> {
  if (!expected) return actual
  const out: Partial<DeadLetterView> = {}
  for (const k of ['port', 'code', 'stage', 'offset'] as const) if (expected[k] !== undefined) (out as Record<string, unknown>)[k] = actual[k]
  if (expected.message !== undefined) out.message = actual.message?.includes(expected.message) ? expected.message : actual.message
  return out
}

import fs from 'node:fs'
import path from 'node:path'
import avro from 'avsc'
import { compileAvroChange } from '../../runtime/codec/debezium/index.ts'
import { generateSampleData, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import type { LogRecord } from '../../runtime/log/log.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { createRunnables } from '../../runtime/runner.ts'
import { HEADER_SIZE } from '../../runtime/codec/avro/wire.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { productsDir, readTopic, tempDir } from '../helpers/runtime.ts'

const ROUNDS = 3
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * user-profiles end to end on the embedded log: Avro Debezium CDC in, Avro profiles out, every batch
 * committed (outputs + offsets in one journal record), with 1 and 2 stream threads. In the same
 * run, a bare avsc loop over the same records: decode the envelope, build the profile, encode it.
 * The input is generated once (not timed); every round starts from a copy of it. This machine's
 * timings vary by ±20% run to run, so each figure is the median of three rounds.
 */
export async function benchUserProfiles(users = 150_000, partitions = 6): Promise<Record<string, number>> {
  const template = tempDir('trib-bench-up-')
  let input: LogRecord[]
  let writerSchema: string
  try {
    const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir: template } }))
    await rt.log.ensureTopic(usersTopic, { partitions })
    const { records } = await generateSampleData(rt.registry, { users, plays: 0, invalid: false })
    for (let i = 0; i < records.length; i += 10_000) await rt.log.append(records.slice(i, i + 10_000))
    input = await readTopic(rt.log, usersTopic)
    const id = input[0]!.value!.readInt32BE(1)
    await rt.codec.serde.prefetch([id])
    writerSchema = rt.codec.serde.writerSchema(id)!
    await rt.close()

    const e2e = async (threads: number): Promise<number> => {
      const dir = tempDir('trib-bench-round-')
      fs.cpSync(template, dir, { recursive: true })
      const runtime = await openRuntime(loadConfig({ env: {}, flags: { dataDir: dir, streamThreads: threads } }))
      try {
        const p = (await createRunnables(runtime, [loadProduct(path.join(productsDir, 'user-profiles'))]))[0]?.processor
        await p!.start()
        const t0 = performance.now()
        let processed = 0
        for (let n = await p!.step(0); n > 0; n = await p!.step(0)) processed += n
        const ms = performance.now() - t0
        await p!.close()
        if (processed !== input.length) throw new Error(`processed ${processed} of ${input.length}`)
        return input.length / (ms / 1000)
      } finally {
        await runtime.close()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }

    const one: number[] = []
    const two: number[] = []
    const bare: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      one.push(await e2e(1))
      two.push(await e2e(2))
      bare.push(input.length / (bareLoop(input.map((r) => r.value), writerSchema) / 1000))
    }
    return {
      events: input.length,
      partitions,
      eventsPerSec1Thread: Math.round(median(one)),
      eventsPerSec2Threads: Math.round(median(two)),
      bareAvscDecodeEncodePerSec: Math.round(median(bare)),
      ratio1ThreadToBare: Number((median(one) / median(bare)).toFixed(3)),
      ratio2ThreadsToBare: Number((median(two) / median(bare)).toFixed(3)),
    }
  } finally {
    fs.rmSync(template, { recursive: true, force: true })
  }
}

/** Milliseconds for: decode each envelope with avsc, build a profile from its row, encode it. */
function bareLoop(values: Array<Buffer | null>, writerSchema: string): number {
  const envelope = compileAvroChange(JSON.parse(writerSchema) as object).type
  const profile = avro.Type.forSchema({
    type: 'record',
    name: 'P',
    fields: [
      { name: 'user_id', type: 'long' },
      { name: 'email', type: 'string' },
      { name: 'display_name', type: 'string' },
      { name: 'country', type: 'string' },
      { name: 'city', type: ['null', 'string'] },
      { name: 'plan', type: 'string' },
      { name: 'marketing_opt_in', type: 'boolean' },
      { name: 'lifetime_value', type: 'bytes' },
      { name: 'registered_at', type: 'string' },
      { name: 'updated_at', type: 'long' },
    ],
  })
  let bytes = 0
  const t0 = performance.now()
  for (const v of values) {
    if (v === null) continue
    const e = envelope.fromBuffer(v.subarray(HEADER_SIZE)) as { after: Record<string, unknown> | null; before: Record<string, unknown> | null }
    const u = (e.after ?? e.before)!
    bytes += profile.toBuffer({
      user_id: u.id,
      email: u.email,
      display_name: u.full_name,
      country: u.country,
      city: u.city,
      plan: u.plan,
      marketing_opt_in: u.marketing_opt_in,
      lifetime_value: u.lifetime_value,
      registered_at: u.created_at,
      updated_at: u.updated_at,
    }).length
  }
  if (bytes === 0) throw new Error('bare loop encoded nothing')
  return performance.now() - t0
}

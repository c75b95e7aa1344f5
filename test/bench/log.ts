import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openEmbeddedLog } from '../../connectors/embedded-log/index.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'

const RECORDS = 1_000_000
const BATCH = 1000
const VALUE_BYTES = 200

/**
 * Embedded log throughput: 1M records of 200 bytes appended in batches of 1000 to one partition,
 * then consumed from the start. Returns records per second; the caller prints.
 */
export async function benchLog(records = RECORDS): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-log-'))
  try {
    const log = await openEmbeddedLog({ dir })
    const topic = 'bench'
    await log.ensureTopic(topic, { partitions: 1 })
    const value = Buffer.alloc(VALUE_BYTES, 0x61)
    const batch: OutgoingRecord[] = Array.from({ length: BATCH }, (_, i) => ({ topic, partition: 0, key: null, value, timestamp: i }))

    let t0 = performance.now()
    for (let done = 0; done < records; done += BATCH) await log.append(batch)
    const appendMs = performance.now() - t0

    const consumer = log.consumer({ group: null, topics: [topic] })
    t0 = performance.now()
    let seen = 0
    let bytes = 0
    while (seen < records) {
      const got = await consumer.poll({ maxRecords: BATCH, maxWaitMs: 1000 })
      if (got.length === 0) throw new Error(`consumer stalled at ${seen} of ${records}`)
      seen += got.length
      for (const r of got) bytes += r.value!.length
    }
    const consumeMs = performance.now() - t0
    await consumer.close()
    await log.close()
    if (bytes !== records * VALUE_BYTES) throw new Error(`consumed ${bytes} value bytes, expected ${records * VALUE_BYTES}`)
    return {
      logAppendRecPerSec: Math.round(records / (appendMs / 1000)),
      logConsumeRecPerSec: Math.round(records / (consumeMs / 1000)),
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

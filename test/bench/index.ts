import os from 'node:os'
import { execSync } from 'node:child_process'
import { setLogLevel } from '../../runtime/logger.ts'
import { benchLog } from './log.ts'
import { benchUserProfiles } from './user-profiles.ts'
import { benchLakeParquet } from './lake-parquet.ts'
import { benchLake } from './lake.ts'
import { benchKafka } from './kafka.ts'
import { benchProbes } from './probes.ts'
import { provide } from '../global-setup.ts'

/** `npm run bench`: one JSON document of figures, comparable run against run. Not a test. */
setLogLevel(process.env.TRIBUTARY_LOG_LEVEL ?? 'warn')
const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch {
    return 'unknown'
  }
})()

const results: Record<string, unknown> = {
  commit,
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
}
results.embeddedLog = await benchLog()
results.userProfiles = await benchUserProfiles()
results.parquetWriter = await benchLakeParquet()
results.lake = await benchLake()
results.probes = await benchProbes()
// The real broker, as the tests use it: started here unless `npm run infra:up` already runs it.
const stopServers = provide(['kafka'], 'bench')
try {
  results.kafka = await benchKafka()
} finally {
  stopServers()
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)

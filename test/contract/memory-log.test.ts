import { openMemoryLog } from '../../connectors/memory-log/index.ts'
import { logContract } from './log.contract.ts'

logContract('memory', async () => {
  const log = openMemoryLog()
  return { log, cleanup: () => log.close() }
})

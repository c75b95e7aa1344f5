import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openEmbeddedLog } from '../../connectors/embedded-log/index.ts'
import { logContract } from './log.contract.ts'

logContract('embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-log-contract-'))
  const log = await openEmbeddedLog({ dir, defaultPartitions: 1 })
  return {
    log,
    cleanup: async () => {
      await log.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})

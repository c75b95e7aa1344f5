import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryContract } from './registry.contract.ts'

registryContract('embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-registry-contract-'))
  const registry = await openEmbeddedRegistry({ dir })
  return {
    registry,
    cleanup: async () => {
      await registry.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})

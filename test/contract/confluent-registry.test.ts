import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openConfluentRegistry } from '../../connectors/registry/confluent/index.ts'
import { openEmbeddedRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryWriter, serveWritableRegistry } from '../helpers/access.ts'
import { registryContract } from './registry.contract.ts'

// The remote adapter over HTTP, against the embedded registry's Confluent REST API on a real
// socket: the server side of the Confluent API that this machine can run.
registryContract('confluent (over the embedded REST API)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-registry-contract-'))
  const embedded = await openEmbeddedRegistry({ dir })
  const server = await serveWritableRegistry(embedded)
  const registry = await openConfluentRegistry({ kind: 'confluent', url: server.url, ...registryWriter, retries: 2 })
  return {
    registry,
    cleanup: async () => {
      await registry.close()
      await server.close()
      await embedded.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})

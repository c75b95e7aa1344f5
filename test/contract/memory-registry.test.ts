import { openMemoryRegistry } from '../../connectors/registry/embedded/index.ts'
import { registryContract } from './registry.contract.ts'

registryContract('embedded, in memory', async () => {
  const registry = await openMemoryRegistry()
  return { registry, cleanup: () => registry.close() }
})

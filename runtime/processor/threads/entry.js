// Stream-thread entry: TypeScript (runtime and the product's transform) loads through tsx here too,
// with both its ESM and CommonJS hooks (see runtime/cli/bin.js). In a worker thread a bare
// `import 'tsx'` does not install the ESM hooks, so both are registered explicitly.
import { register as registerEsm } from 'tsx/esm/api'
import { register as registerCjs } from 'tsx/cjs/api'

registerEsm()
registerCjs()
await import('./thread.ts')

// Stream-thread entry: TypeScript (runtime and the product's transform) loads through tsx here, with
// both its hooks (see runtime/product/typescript.js). In a worker thread a bare `import 'tsx'` does
// not install the ESM hooks, so they are registered explicitly.
import { registerTypeScript } from '../../product/typescript.js'

await registerTypeScript()
await import('./thread.ts')

// Stream-thread entry: TypeScript (runtime and the product's transform) loads through tsx here too.
import { register } from 'tsx/esm/api'

register()
await import('./thread.ts')

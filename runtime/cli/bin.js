#!/usr/bin/env node
// Entry point of the `tributary` command. TypeScript (the runtime and products' transform.ts)
// runs through tsx's loader, so there is no build step. The full loader (ESM and CommonJS hooks)
// is needed: a product folder outside any package.json "type": "module" makes Node treat its
// transform.ts as CommonJS, which only tsx's CommonJS hook can load.
import 'tsx'

await import('./main.ts')

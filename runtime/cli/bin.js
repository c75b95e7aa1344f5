#!/usr/bin/env node
// Entry point of the `tributary` command. TypeScript (the runtime and products' transform.ts)
// runs through tsx's loader, so there is no build step. The full loader (ESM and CommonJS hooks)
// is needed: a product folder outside any package.json "type": "module" makes Node treat its
// transform.ts as CommonJS, which only tsx's CommonJS hook can load.
import 'tsx'

// The AWS SDK warns that releases after January 2027 need Node 22; the pinned release supports
// Node 20, which this project targets, and the warning would otherwise interleave with output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await import('./main.ts')

#!/usr/bin/env node
// Entry point of the `tributary` command. TypeScript (the runtime and products' transform.ts)
// runs through tsx's loader, so there is no build step.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')

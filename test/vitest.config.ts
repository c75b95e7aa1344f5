import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('..', import.meta.url))
const shared = { root, testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' } as const

// Kept under test/ because the repository's top level is fixed by the design. The servers are
// started once (globalSetup at the root), for both projects.
export default defineConfig({
  test: {
    root,
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { test: { ...shared, name: 'tests', include: ['test/**/*.test.ts'], exclude: ['test/bench/**', '**/node_modules/**'] } },
      // The end-to-end suite once more with every fast path off: the reference paths must give the
      // same outputs and dead letters (runtime/codec/VALUES.md, "Fast paths").
      { test: { ...shared, name: 'e2e-reference', include: ['test/e2e/**/*.test.ts'], env: { TRIBUTARY_FAST_PATHS: 'off' } } },
    ],
  },
})

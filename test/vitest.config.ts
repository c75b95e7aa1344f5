import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { tierDir, tiers, type Tier } from './tiers.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

// Kept under test/ because the repository's top level is fixed by the design. One project per
// tier (tiers.ts): `vitest run --project <tier>` runs one (npm run test:<tier>), no flag runs all.
export default defineConfig({
  test: {
    projects: Object.entries(tiers as Record<string, Tier>).map(([name, tier]) => ({
      test: {
        name,
        root,
        include: [`test/${tierDir(name, tier)}/**/*.test.ts`],
        env: { ...tier.env },
        globalSetup: ['test/global-setup.ts'],
        // Unit tests must not reach a server: the guard fails a test that tries.
        setupFiles: ['test/helpers/quiet-logs.ts', ...(name === 'unit' ? ['test/helpers/no-network.ts'] : [])],
        testTimeout: 60_000,
        hookTimeout: 120_000,
        pool: 'forks' as const,
        sequence: { groupOrder: 'last' in tier && tier.last ? 1 : 0 },
      },
    })),
  },
})

import { z } from 'zod'
import { TributaryError } from '../../runtime/errors.ts'

const MB = 1024 * 1024

const schema = z.strictObject({
  /** Root directory of the log (the CLI passes `./.tributary/log`). */
  dir: z.string().min(1),
  /**
   * 'never' (default): an acknowledged append sits in the OS page cache, which survives SIGKILL of
   * the process but not power loss. 'always': segments and journal are fsynced before the ack.
   */
  fsync: z.enum(['never', 'always']).default('never'),
  segmentBytes: z.number().int().min(4096).default(128 * MB),
  defaultPartitions: z.number().int().min(1).max(100_000).default(1),
  /** The commit journal rotates past this size (the new file starts with a full checkpoint). */
  journalBytes: z.number().int().min(4096).default(32 * MB),
  /**
   * Opens without the writer lock and never changes a file (no repair, nothing created): for
   * commands that only read. Appends, offset changes and group consumers are refused.
   */
  readOnly: z.boolean().default(false),
  /** How long an append waits for another process's writer lock before TRIB_LOG_LOCKED. */
  lockTimeoutMs: z.number().int().min(0).default(10_000),
})

export type EmbeddedLogOptions = z.input<typeof schema>
export type ResolvedOptions = Readonly<z.output<typeof schema>>

/** Validates once at the edge; everything inward gets a frozen, complete object. */
export function resolveOptions(input: EmbeddedLogOptions): ResolvedOptions {
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new TributaryError('TRIB_CONFIG_INVALID', `embedded log options: ${issues.join('; ')}`, {
      details: { issues },
    })
  }
  return Object.freeze(parsed.data)
}

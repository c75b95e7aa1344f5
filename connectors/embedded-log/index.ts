import type { Log } from '../../runtime/log/log.ts'
import { EmbeddedLog } from './log.ts'
import { resolveOptions, type EmbeddedLogOptions } from './options.ts'

export type { EmbeddedLogOptions }

/**
 * Opens (creating if needed) the embedded log in `options.dir`. Durable against SIGKILL with the
 * default `fsync: 'never'`; use `fsync: 'always'` to survive power loss as well.
 */
export function openEmbeddedLog(options: EmbeddedLogOptions): Promise<Log> {
  return EmbeddedLog.open(resolveOptions(options))
}

import { createRequire } from 'node:module'
import pino, { type Logger } from 'pino'

/**
 * The one root logger. Library code takes a child per module (`logger.child({ module: 'log' })`).
 * Logs go to stderr so that command output on stdout stays machine-readable; pretty on a TTY,
 * JSON lines otherwise.
 */
function createRoot(): Logger {
  const wanted = process.env.TRIBUTARY_LOG_LEVEL ?? 'info'
  // An unknown level must not crash the import with pino's stack: configuration loading reports it.
  const level = wanted === 'silent' || wanted in pino.levels.values ? wanted : 'info'
  if (process.stderr.isTTY) {
    // Loaded only for a terminal: piped output (and every test) does without it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
    return pino({ level }, pretty({ destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }))
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }))
}

export const logger: Logger = createRoot()

export const setLogLevel = (level: string): void => {
  logger.level = level
}

export const moduleLogger = (module: string): Logger => logger.child({ module })
export type { Logger }

import { moduleLogger } from '../../runtime/logger.ts'

/** The embedded log's child logger; exported on its own so tests can observe recovery warnings. */
export const log = moduleLogger('embedded-log')

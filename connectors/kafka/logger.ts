import { moduleLogger, type Logger } from '../../runtime/logger.ts'

/** The Kafka adapter's logger, whichever client library drives it. */
export const log: Logger = moduleLogger('kafka')

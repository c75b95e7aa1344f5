import { openTestKafkaLog } from '../integration/kafka-support.ts'
import { logContract } from './log.contract.ts'

// The shared Log contract against a real Kafka broker (`npm run infra:up`).
logContract('kafka', async () => {
  const log = await openTestKafkaLog()
  return { log, cleanup: () => log.close() }
})

import { kafkaClients, openTestKafkaLog } from '../integration/kafka-support.ts'
import { logContract } from './log.contract.ts'

// The shared Log contract against a real Kafka broker (`npm run infra:up`), over each client library.
for (const client of kafkaClients)
  logContract(`kafka (${client})`, async () => {
    const log = await openTestKafkaLog({}, client)
    return { log, cleanup: () => log.close() }
  })

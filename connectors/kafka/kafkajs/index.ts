import type { Message } from 'kafkajs'
import type { Driver } from '../driver.ts'
import { kafkajsAdmin } from './admin.ts'
import { KafkajsConsumer } from './consumer.ts'
import { kafkajsMessage, kafkajsProducer, kafkajsTransactional } from './producer.ts'

/** The Kafka adapter over kafkajs 2.x (the client since the start). */
export const kafkajsDriver: Driver<Message> = {
  name: 'kafkajs',
  admin: kafkajsAdmin,
  message: kafkajsMessage,
  producer: kafkajsProducer,
  transactional: kafkajsTransactional,
  consumer: (host, options) => new KafkajsConsumer(host, options),
}

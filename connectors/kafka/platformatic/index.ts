import type { MessageToProduce } from '@platformatic/kafka'
import type { Driver } from '../driver.ts'
import { platformaticAdmin } from './admin.ts'
import { PlatformaticConsumer } from './consumer.ts'
import { platformaticMessage, platformaticProducer, platformaticTransactional } from './producer.ts'

/** The Kafka adapter over @platformatic/kafka 1.x (opt-in: transport.kafka.client platformatic). */
export const platformaticDriver: Driver<MessageToProduce> = {
  name: 'platformatic',
  admin: platformaticAdmin,
  message: platformaticMessage,
  producer: platformaticProducer,
  transactional: platformaticTransactional,
  consumer: (host, options) => new PlatformaticConsumer(host, options),
}

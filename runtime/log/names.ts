import { TributaryError } from '../errors.ts'

/**
 * Kafka's topic and partition rules, checked by every Log adapter before it touches anything (they
 * also make every valid topic name a safe directory name for the embedded log).
 */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

export function assertTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new TributaryError('TRIB_TOPIC_INVALID', `invalid topic name ${JSON.stringify(name)}: use 1-249 of [a-zA-Z0-9._-], not "." or ".."`, {
      details: { topic: name },
    })
  }
}

export function assertPartition(topic: string, partition: unknown, count: number): asserts partition is number {
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new TributaryError('TRIB_TOPIC_INVALID', `partition ${String(partition)} of topic ${topic} does not exist (it has ${count})`, {
      details: { topic, partition },
    })
  }
}

export function assertPartitionCount(topic: string, partitions: unknown): asserts partitions is number {
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > 100_000) {
    throw new TributaryError('TRIB_TOPIC_INVALID', `topic ${topic}: partition count ${String(partitions)} must be an integer in 1..100000`, {
      details: { topic, partitions },
    })
  }
}

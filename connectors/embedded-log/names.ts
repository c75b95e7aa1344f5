import { createHash } from 'node:crypto'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

/** Kafka's topic rules, which also make every valid name a safe directory name. */
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

const SAFE_FILE = /^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,119}$/

/** Group names are free text in Kafka; anything not filename-safe is stored under a hash. */
export const groupDirName = (group: string): string =>
  SAFE_FILE.test(group) ? group : `~${createHash('sha256').update(group).digest('hex').slice(0, 40)}`

/** One member lock per group partition: whoever holds it is the partition's only consumer. */
export const memberFileName = (topic: string, partition: number): string => `${topic}.${partition}.member`

export const segmentFileName = (base: number): string => `${String(base).padStart(20, '0')}.seg`
export const SEGMENT_FILE = /^(\d{20})\.seg$/
export const journalFileName = (seq: number): string => `${String(seq).padStart(12, '0')}.jrn`
export const JOURNAL_FILE = /^(\d{12})\.jrn$/

export const layout = (root: string) => ({
  root,
  journalDir: path.join(root, 'journal'),
  topicsDir: path.join(root, 'topics'),
  groupsDir: path.join(root, 'groups'),
  writerLock: path.join(root, 'writer.lock'),
  partitionDir: (topic: string, partition: number): string => path.join(root, 'topics', topic, String(partition)),
})
export type Layout = ReturnType<typeof layout>

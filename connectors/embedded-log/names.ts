import { createHash } from 'node:crypto'
import path from 'node:path'

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

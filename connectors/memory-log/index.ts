export { openMemoryLog, type MemoryLog } from './log.ts'

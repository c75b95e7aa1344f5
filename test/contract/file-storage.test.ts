import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStorageProvider } from '../../connectors/storage/index.ts'
import { openFileStorage } from '../../connectors/storage/file/index.ts'
import { storageContract } from './storage.contract.ts'

storageContract('file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-storage-'))
  return { storage: openFileStorage(`file://${dir}`), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) }
})

describe('file storage specifics', () => {
  it('opens bare paths and file URIs alike and exposes local paths', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-storage-'))
    try {
      const a = openFileStorage(dir)
      const b = openFileStorage(`file://${dir}/`)
      expect(a.root).toBe(`file://${dir}`)
      expect(b.root).toBe(a.root)
      expect(a.localPath('metadata/v1.metadata.json')).toBe(path.join(dir, 'metadata/v1.metadata.json'))
      // Java-style single-slash URIs resolve to the same file.
      expect(a.uri(`file:${dir}/x`)).toBe(`file://${dir}/x`)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('leaves no temporary files behind and hides them from list', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-storage-'))
    try {
      const s = openFileStorage(dir)
      await s.write('m/a', Buffer.from('x'))
      await s.createExclusive('m/b', Buffer.from('y'))
      await s.createExclusive('m/b', Buffer.from('z'))
      expect(fs.readdirSync(path.join(dir, 'm')).sort()).toEqual(['a', 'b'])
      fs.writeFileSync(path.join(dir, 'm', '.tmp-stray'), '')
      expect(await s.list('m/')).toEqual(['m/a', 'm/b'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is opened by scheme, and unknown schemes are refused', async () => {
    const provider = openStorageProvider()
    try {
      expect((await provider.open('/tmp/x')).root).toBe('file:///tmp/x')
      await expect(provider.open('gopher://x/y')).rejects.toMatchObject({ code: 'TRIB_LAKE_STORAGE_URI' })
    } finally {
      await provider.close()
    }
    await expect(provider.open('/tmp/x')).rejects.toMatchObject({ code: 'TRIB_LAKE_CLOSED' })
  })
})

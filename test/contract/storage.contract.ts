import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTributaryError } from '../../runtime/errors.ts'
import type { LakeStorage } from '../../runtime/lake/storage.ts'

/**
 * The contract every LakeStorage adapter honours (runtime/lake/storage.ts), optional methods
 * included. Each test works under its own random prefix, so the suite can share one bucket or
 * directory with other runs.
 */
export function storageContract(name: string, open: () => Promise<{ storage: LakeStorage; cleanup: () => Promise<void> }>): void {
  describe(`LakeStorage contract: ${name}`, () => {
    let storage: LakeStorage
    let cleanup: () => Promise<void>
    beforeAll(async () => {
      ;({ storage, cleanup } = await open())
    })
    afterAll(async () => cleanup())

    const unique = (): string => `c-${randomUUID().slice(0, 8)}`
    const b = (s: string): Buffer => Buffer.from(s)

    it('writes, reads back, overwrites and deletes; delete of a missing file is fine', async () => {
      const p = `${unique()}/a/b.bin`
      await storage.write(p, b('one'))
      expect((await storage.read(p)).toString()).toBe('one')
      await storage.write(p, b('two'))
      expect((await storage.read(p)).toString()).toBe('two')
      expect(await storage.exists(p)).toBe(true)
      await storage.delete(p)
      expect(await storage.exists(p)).toBe(false)
      await storage.delete(p)
    })

    it('reports a missing file as TRIB_LAKE_FILE_NOT_FOUND naming it', async () => {
      const p = `${unique()}/missing.json`
      const err = await storage.read(p).catch((e: unknown) => e)
      expect(isTributaryError(err, 'TRIB_LAKE_FILE_NOT_FOUND')).toBe(true)
      expect((err as Error).message).toContain(storage.uri(p))
    })

    it('accepts absolute URIs under the root and refuses paths outside it', async () => {
      const p = `${unique()}/x.txt`
      await storage.write(storage.uri(p), b('abs'))
      expect((await storage.read(p)).toString()).toBe('abs')
      expect(storage.uri(storage.uri(p))).toBe(storage.uri(p))
      for (const bad of ['../escape.txt', 'a/../../b', `${storage.root}-other/x`]) {
        expect(() => storage.uri(bad), bad).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_STORAGE_URI' }))
      }
    })

    it('createExclusive creates once and never overwrites', async () => {
      const p = `${unique()}/v1.metadata.json`
      expect(await storage.createExclusive(p, b('first'))).toBe(true)
      expect(await storage.createExclusive(p, b('second'))).toBe(false)
      expect((await storage.read(p)).toString()).toBe('first')
    })

    it('createExclusive lets exactly one of many racing writers win', async () => {
      const p = `${unique()}/race.json`
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => storage.createExclusive(p, b(`writer-${i}`))))
      expect(results.filter(Boolean)).toHaveLength(1)
      const winner = results.indexOf(true)
      expect((await storage.read(p)).toString()).toBe(`writer-${winner}`)
    })

    it('lists files under a prefix, recursively and sorted, as relative paths', async () => {
      const base = unique()
      for (const p of ['metadata/v2.metadata.json', 'metadata/v10.metadata.json', 'metadata/snap-1.avro', 'data/d=1/a.parquet', 'data/d=2/b.parquet']) {
        await storage.write(`${base}/${p}`, b(p))
      }
      expect(await storage.list(`${base}/metadata/v`)).toEqual([`${base}/metadata/v10.metadata.json`, `${base}/metadata/v2.metadata.json`])
      expect(await storage.list(`${base}/data/`)).toEqual([`${base}/data/d=1/a.parquet`, `${base}/data/d=2/b.parquet`])
      expect(await storage.list(`${base}/nothing/`)).toEqual([])
    })

    it('lists the folders directly under a folder, sorted, without files or deeper levels', async () => {
      const base = unique()
      for (const p of ['b/metadata/v1.metadata.json', 'a/x.txt', 'a/deeper/y.txt', 'file.txt']) await storage.write(`${base}/${p}`, b(p))
      expect(await storage.folders(base)).toEqual(['a', 'b'])
      expect(await storage.folders(`${base}/`)).toEqual(['a', 'b'])
      expect(await storage.folders(`${base}/a`)).toEqual(['deeper'])
      expect(await storage.folders(`${base}/b/metadata`)).toEqual([])
      expect(await storage.folders(`${base}/file.txt`)).toEqual([])
      expect(await storage.folders(`${base}/nothing`)).toEqual([])
      expect(await storage.folders('')).toContain(base)
    })

    it('moves a local file in with putFile', async () => {
      const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trib-put-')), 'f.parquet')
      fs.writeFileSync(local, 'parquet bytes')
      const p = `${unique()}/data/f.parquet`
      await storage.putFile(p, local)
      expect((await storage.read(p)).toString()).toBe('parquet bytes')
      expect(fs.existsSync(local)).toBe(false)
      fs.rmSync(path.dirname(local), { recursive: true, force: true })
    })

    it('localPath is undefined or the file on local disk holding what was written, for a relative path and its URI alike', async () => {
      const p = `${unique()}/data/l.bin`
      await storage.write(p, b('local bytes'))
      const local = storage.localPath(p)
      expect(storage.localPath(storage.uri(p))).toBe(local)
      if (local !== undefined) expect(fs.readFileSync(local).toString()).toBe('local bytes')
    })

    // Optional in the interface: an adapter without it is reported as skipped, not passed.
    it('download copies a file into a new local file; a missing file is TRIB_LAKE_FILE_NOT_FOUND and creates none; it never overwrites a local file', async (ctx) => {
      if (!storage.download) return ctx.skip()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-download-'))
      try {
        // Larger than one network read, with every byte value.
        const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7919) % 256))
        const p = `${unique()}/data/d.bin`
        await storage.write(p, data)
        await storage.download(storage.uri(p), path.join(dir, 'd.bin'))
        expect(fs.readFileSync(path.join(dir, 'd.bin')).equals(data)).toBe(true)

        const missing = `${unique()}/nothing.bin`
        const error = await storage.download(missing, path.join(dir, 'm.bin')).then(() => undefined, (e: unknown) => e)
        expect(isTributaryError(error, 'TRIB_LAKE_FILE_NOT_FOUND'), String(error)).toBe(true)
        expect(fs.existsSync(path.join(dir, 'm.bin'))).toBe(false)

        fs.writeFileSync(path.join(dir, 'kept.bin'), 'kept')
        await expect(storage.download(p, path.join(dir, 'kept.bin'))).rejects.toThrow()
        expect(fs.readFileSync(path.join(dir, 'kept.bin')).toString()).toBe('kept')
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

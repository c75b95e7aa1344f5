import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIT_PROPERTY } from '../../runtime/compactor/compactor.ts'
import type { AuditResult } from '../../runtime/compactor/audit.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId, tableRequest, type ScanSelector, type SnapshotId } from '../../runtime/lake/index.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { createRunnables, runProducts, type ProductRunnables } from '../../runtime/runner.ts'
import { lakeTables, runQuery } from '../../runtime/query/query.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'
import { pyicebergRows, pyicebergWrite, pythonPath } from '../interop/python.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')

/** A small product: JSON readings in, Avro readings out, compacted by key with a quality gate. */
function writeProduct(dir: string, options: { maxValue: number; withUnit: boolean }): void {
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  const fields: object[] = [
    { name: 'sensor', type: 'string' },
    { name: 'value', type: 'double' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ]
  if (options.withUnit) fields.push({ name: 'unit', type: ['null', 'string'], default: null })
  fs.writeFileSync(path.join(dir, 'schemas', 'reading.avsc'), JSON.stringify({ type: 'record', name: 'Reading', namespace: 'lake.test', fields }))
  fs.writeFileSync(
    path.join(dir, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: sensors
domain: tests
description: Latest reading per sensor.
owner: { team: tests }
inputPorts:
  - { name: readings, topic: sensors.in, format: json, schema: lake.test.Reading }
outputPorts:
  - name: latest
    topic: sensors.latest
    schema: lake.test.Reading
    key: sensor
    snapshot:
      mode: upsert
      commit: { interval: 1h }
      quality: { notNull: [sensor], unique: true, range: { value: { max: ${options.maxValue} } } }
`,
  )
  fs.writeFileSync(path.join(dir, 'transform.ts'), "export default (r: { value: object }) => ({ port: 'latest', value: r.value })\n")
}

describe('the lake: write-audit-publish, schema evolution, time travel, maintenance, bad input', () => {
  let runtime: Runtime
  let dataDir: string
  let productDir: string
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', TRIBUTARY_PRODUCTS: productDir },
    })

  const run = async (): Promise<ProductRunnables[]> => {
    const units = await createRunnables(runtime, [loadProduct(productDir)])
    await runProducts(units, { untilIdle: true })
    return units
  }
  const send = (readings: Array<{ sensor: string; value: number; unit?: string }>) =>
    runtime.log.append(readings.map((r, i) => ({ topic: 'sensors.in', key: Buffer.from(r.sensor), value: Buffer.from(JSON.stringify({ ...r, at: `2026-11-01T10:00:0${i}Z` })) })))
  const query = async (sql: string, asOf?: object) => {
    const r = await runQuery(runtime.catalog, await lakeTables(runtime.catalog), sql, asOf ? { asOf: asOf as ScanSelector } : {})
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])))
  }

  beforeAll(async () => {
    pythonPath()
    dataDir = tempDir('trib-lake-')
    productDir = tempDir('trib-sensors-')
    writeProduct(productDir, { maxValue: 100, withUnit: false })
    runtime = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    await runtime.log.ensureTopic('sensors.in', { partitions: 2 })
  })
  afterAll(async () => {
    await runtime.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
    fs.rmSync(productDir, { recursive: true, force: true })
  })

  it('publishes a snapshot that passes its audit to main', async () => {
    await send([{ sensor: 'a', value: 1 }, { sensor: 'b', value: 2 }, { sensor: 'a', value: 3 }])
    await run()
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(table.metadata.refs.main?.['snapshot-id']).toBe(table.metadata.refs.audit?.['snapshot-id'])
    expect(await query('SELECT sensor, value FROM sensors.latest ORDER BY sensor')).toEqual([{ sensor: 'a', value: 3 }, { sensor: 'b', value: 2 }])
    expect(cli('lake', 'tag', 'sensors.latest', 'good').status).toBe(0)
  })

  it('keeps main where it was when the audit fails, and says why', async () => {
    await send([{ sensor: 'c', value: 500 }])
    const [unit] = await run()
    expect(unit!.sinks[0]!.stats.auditFailures).toBe(1)
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(table.metadata.refs.main?.['snapshot-id']).not.toBe(table.metadata.refs.audit?.['snapshot-id'])
    const recorded = JSON.parse(table.metadata.properties[AUDIT_PROPERTY]!) as AuditResult
    expect(recorded.passed).toBe(false)
    expect(recorded.failures).toEqual([{ rule: 'range', field: 'value', message: '1 rows have value outside [-∞, 100]' }])
    // Readers of main do not see the bad row; the audit branch keeps it for diagnosis.
    expect((await query('SELECT sensor FROM sensors.latest ORDER BY sensor')).map((r) => r.sensor)).toEqual(['a', 'b'])
    expect((await query('SELECT sensor FROM sensors.latest ORDER BY sensor', { ref: 'audit' })).map((r) => r.sensor)).toEqual(['a', 'b', 'c'])
    const audit = cli('lake', 'audit', 'sensors.latest')
    expect(audit.stdout).toMatch(/main is behind: not published/)
    expect(audit.stdout).toMatch(/FAILED[\s\S]*range value: 1 rows have value outside/)
  })

  it('publishes again once a later change fixes the data', async () => {
    await send([{ sensor: 'c', value: 50 }])
    await run()
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(table.metadata.refs.main?.['snapshot-id']).toBe(table.metadata.refs.audit?.['snapshot-id'])
    expect((JSON.parse(table.metadata.properties[AUDIT_PROPERTY]!) as AuditResult).passed).toBe(true)
    expect(await query('SELECT sensor, value FROM sensors.latest ORDER BY sensor')).toEqual([
      { sensor: 'a', value: 3 },
      { sensor: 'b', value: 2 },
      { sensor: 'c', value: 50 },
    ])
  })

  it('evolves the table when the port schema gains an optional field; old rows read it as null; a column another engine added stays', async () => {
    // pyiceberg adds a column of its own first: the product's evolution must not drop it.
    pyicebergWrite(path.join(dataDir, 'lake'), 'sensors.latest', 'add_column', { name: 'note' })
    writeProduct(productDir, { maxValue: 100, withUnit: true })
    await send([{ sensor: 'd', value: 7, unit: 'C' }])
    await run()
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(table.schema().fields.map((f) => f.name)).toEqual(['sensor', 'value', 'at', 'unit', 'note'])
    expect(await query('SELECT sensor, unit, note FROM sensors.latest ORDER BY sensor')).toEqual([
      { sensor: 'a', unit: null, note: null },
      { sensor: 'b', unit: null, note: null },
      { sensor: 'c', unit: null, note: null },
      { sensor: 'd', unit: 'C', note: null },
    ])
    const py = pyicebergRows(table.metadataFile).sort((x, y) => String(x.sensor).localeCompare(String(y.sensor)))
    expect(py.map((r) => [r.sensor, r.unit, r.note])).toEqual([['a', null, null], ['b', null, null], ['c', null, null], ['d', 'C', null]])
  })

  it('travels back in time by tag, snapshot id and timestamp', async () => {
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    const first = [...table.metadata.snapshots].sort((a, b) => a['timestamp-ms'] - b['timestamp-ms'])[0]!
    const atTag = await query('SELECT sensor FROM sensors.latest ORDER BY sensor', { ref: 'good' })
    expect(atTag.map((r) => r.sensor)).toEqual(['a', 'b'])
    expect(await query('SELECT count(*) AS n FROM sensors.latest', { snapshotId: first['snapshot-id'] })).toEqual([{ n: 2 }])
    // By time: the snapshot main had then (its snapshot log), here between the first and second publish.
    const log = table.metadata['snapshot-log']
    expect(await query('SELECT count(*) AS n FROM sensors.latest', { asOfTimestampMs: log[1]!['timestamp-ms'] - 1 })).toEqual([{ n: 2 }])
    expect(await query('SELECT count(*) AS n FROM sensors.latest', { asOfTimestampMs: log[1]!['timestamp-ms'] })).toEqual([{ n: 3 }])
    const viaCli = cli('query', 'SELECT count(*) AS n FROM sensors.latest', '--as-of', 'good', '--format', 'json')
    expect(JSON.parse(viaCli.stdout)).toEqual([{ n: 2 }])
  })

  it('rolls back, compacts and expires without deleting a file still referenced', async () => {
    const snapshots = JSON.parse(cli('lake', 'snapshots', 'sensors.latest', '--format', 'json').stdout) as { snapshots: Array<{ snapshot: number; refs: string | null }> }
    expect(snapshots.snapshots.length).toBeGreaterThanOrEqual(4)
    const compact = cli('lake', 'compact', 'sensors.latest')
    expect(compact.stdout).toMatch(/rewrote \d+ data files into 1/)
    const before = await query('SELECT sensor, value, unit FROM sensors.latest ORDER BY sensor')
    const expire = cli('lake', 'expire', 'sensors.latest', '--older-than', '0s', '--retain-last', '1')
    expect(expire.status).toBe(0)
    expect(expire.stdout).toMatch(/expired \d+ snapshots, deleted \d+ files/)
    // Everything main and the tag still reach is readable, by us and by pyiceberg.
    expect(await query('SELECT sensor, value, unit FROM sensors.latest ORDER BY sensor')).toEqual(before)
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(pyicebergRows(table.metadataFile).length).toBe(4)
    expect(pyicebergRows(table.metadataFile, { ref: 'good' }).length).toBe(2)
    // A compactor restarted after the rewrite resumes exactly where the stream left off.
    await send([{ sensor: 'e', value: 9 }])
    await run()
    expect((await query('SELECT sensor FROM sensors.latest ORDER BY sensor')).map((r) => r.sensor)).toEqual(['a', 'b', 'c', 'd', 'e'])

    expect(cli('lake', 'rollback', 'sensors.latest', '--to', 'good').status).toBe(0)
    expect((await query('SELECT sensor FROM sensors.latest ORDER BY sensor')).map((r) => r.sensor)).toEqual(['a', 'b'])
  })

  it('commits on top when another writer commits to main while the compactor runs', async () => {
    await run() // the rollback above left records to read again: settled first
    const before = await query('SELECT sensor, value FROM sensors.latest ORDER BY sensor')
    const processors = (await createRunnables(runtime, [loadProduct(productDir)])).flatMap((u) => [u.processor, ...u.sinks])
    let foreign: SnapshotId
    try {
      for (const p of processors) await p.start()
      // Another engine appends to main while the compactor is open (its audit branch is now behind).
      const other = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
      foreign = (await other.newSnapshot({ addRows: [{ sensor: 'z', value: 9, at: '2026-11-01T11:00:00.000Z', unit: null }] }))['snapshot-id']
      await send([{ sensor: 'a', value: 4 }, { sensor: 'z', value: 10 }])
      // Drained by hand (runProducts would start them again): the first commit finds main moved,
      // the compactor restarts its audit branch at main, reads those records again and commits on top.
      for (let moved = 1; moved > 0 || !processors.every((p) => p.idle()); ) {
        moved = 0
        for (const p of processors) for (let n = await p.step(0); n > 0; n = await p.step(0)) moved += n
      }
    } finally {
      for (const p of processors) await p.close()
    }
    const table = await runtime.catalog.loadTable(tableId('sensors', 'latest'))
    expect(table.metadata.refs.main?.['snapshot-id']).toBe(table.metadata.refs.audit?.['snapshot-id'])
    expect(table.snapshot()?.['parent-snapshot-id']).toBe(foreign)
    // The key index learned the foreign row: z replaced, not duplicated (the unique audit passed).
    const expected = [...before.filter((r) => r.sensor !== 'a'), { sensor: 'a', value: 4 }, { sensor: 'z', value: 10 }].sort((x, y) => String(x.sensor).localeCompare(String(y.sensor)))
    expect(await query('SELECT sensor, value FROM sensors.latest ORDER BY sensor')).toEqual(expected)
  })

  it('gives one clear error for an unknown table, a bad snapshot, a forbidden statement, corrupt metadata', () => {
    const error = (r: ReturnType<typeof cli>) => {
      expect(r.status).toBe(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      return r.stderr.split('\n')[0]
    }
    expect(error(cli('lake', 'snapshots', 'sensors.nope'))).toMatch(/^error TRIB_LAKE_NOT_FOUND: unknown table sensors\.nope/)
    expect(error(cli('query', 'SELECT * FROM sensors.nope'))).toMatch(/^error TRIB_QUERY_UNKNOWN_TABLE: unknown table .*sensors\.nope.*; the lake has: sensors\.dlq, sensors\.latest$/)
    expect(error(cli('query', 'SELECT * FROM sensors.latest', '--as-of', '12345'))).toMatch(/^error TRIB_LAKE_SNAPSHOT_NOT_FOUND: table sensors\.latest: .*no snapshot 12345/)
    expect(error(cli('lake', 'tag', 'sensors.latest', 't2', '--snapshot', '999'))).toMatch(/^error TRIB_LAKE_SNAPSHOT_NOT_FOUND: .*999/)
    expect(error(cli('query', "COPY (SELECT 1) TO '/tmp/x.csv'"))).toMatch(/^error TRIB_QUERY_FORBIDDEN: COPY statements are not allowed/)
    expect(error(cli('query', "SELECT * FROM read_text('/etc/hostname')"))).toMatch(/^error TRIB_QUERY_FORBIDDEN: queries read the lake's tables only/)
    expect(error(cli('query', 'ATTACH DATABASE \'x.db\''))).toMatch(/^error TRIB_QUERY_FORBIDDEN: ATTACH/)

    const metadataDir = path.join(dataDir, 'lake', 'sensors', 'latest', 'metadata')
    const newest = fs.readdirSync(metadataDir).filter((f) => /^v\d+\.metadata\.json$/.test(f)).sort((a, b) => parseInt(a.slice(1)) - parseInt(b.slice(1))).at(-1)!
    fs.writeFileSync(path.join(metadataDir, newest), '{"format-version": 2, "table-uuid": ')
    expect(error(cli('lake', 'snapshots', 'sensors.latest'))).toMatch(new RegExp(`^error TRIB_LAKE_CORRUPT: .*${newest.replace('.', '\\.')}`))
  })

  it('queries every table in the lake, also those of products it was not given, next to a damaged one', async () => {
    const other = await runtime.catalog.createTable(tableId('elsewhere', 'things'), tableRequest({ avroSchema: { type: 'record', name: 'T', fields: [{ name: 'n', type: 'long' }] } }))
    await other.newSnapshot({ addRows: [{ n: 41 }, { n: 1 }] })
    // sensors.latest's newest metadata was garbled by the test before: that stays with sensors.latest.
    const r = cli('query', 'SELECT sum(n) AS total FROM elsewhere.things', '--format', 'json')
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual([{ total: 42 }])
    expect(cli('query', 'SELECT count(*) FROM sensors.latest').stderr.split('\n')[0]).toMatch(/^error TRIB_LAKE_CORRUPT: table sensors\.latest: /)
  })
})

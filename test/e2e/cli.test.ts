import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { commands, type CommandDef } from '../../runtime/cli/commands.js'
import { repoRoot, tempDir } from '../helpers/runtime.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const dataDir = tempDir('trib-cli-')
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

/** Runs the real CLI in a child process. */
function cli(args: string[], options: { input?: string; dir?: string } = {}) {
  const r = spawnSync(process.execPath, [bin, '--data-dir', options.dir ?? dataDir, ...args], {
    cwd: repoRoot,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** One clear line for an error: the code and a message, no stack trace. */
function expectCleanError(r: ReturnType<typeof cli>, code: string, mention: RegExp): void {
  expect(r.code).toBe(1)
  const lines = r.stderr.trim().split('\n')
  expect(lines[0]).toMatch(new RegExp(`^error ${code}: `))
  expect(lines[0]).toMatch(mention)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

describe('tributary CLI', () => {
  it('has --help on every command, and --version', () => {
    const names = (defs: readonly CommandDef[], prefix = ''): string[] =>
      defs.flatMap((d) => (d.commands ? names(d.commands, `${prefix}${d.name} `) : [`${prefix}${d.name}`]))
    for (const command of names(commands)) {
      const r = cli([...command.split(' '), '--help'])
      expect(r.code, command).toBe(0)
      expect(r.stdout).toMatch(/^Usage: tributary /)
    }
    const version = cli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version)
    const unknown = cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/)
  })

  it('validates the example products, and reports a broken one with file, line and field', () => {
    const ok = cli(['validate'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/ok\s+user-profiles/)
    const broken = tempDir('trib-broken-')
    fs.cpSync(path.join(repoRoot, 'products/top-podcasts'), broken, { recursive: true })
    const yaml = path.join(broken, 'product.yaml')
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('format: avro', 'format: avro\n    colour: blue'))
    const r = cli(['validate', broken])
    expectCleanError(r, 'TRIB_SPEC_INVALID', /1 of 1 products are invalid/)
    expect(r.stdout).toMatch(/product\.yaml:\d+:\d+ inputPorts\[0\]\.colour: unknown field "colour"/)
    fs.rmSync(broken, { recursive: true, force: true })
  })

  it('produces JSON lines as Avro and tails them decoded', () => {
    const file = path.join(dataDir, 'plays.jsonl')
    const play = (i: number) => ({
      play_id: `00000000-0000-4000-8000-00000000000${i}`,
      user_id: i,
      podcast_id: 'pod-001',
      episode_id: 'pod-001-ep-01',
      played_at: `2026-11-01T10:0${i}:00Z`,
      duration_seconds: 60 * i,
      device: 'web',
    })
    fs.writeFileSync(file, [1, 2, 3].map((i) => JSON.stringify(play(i))).join('\n') + '\n')
    const produced = cli(['produce', 'cli.plays', '--file', file, '--schema', 'schemas/podcast.play-event.avsc', '--key-field', 'user_id'])
    expect(produced.stderr).toBe('')
    expect(produced.stdout).toMatch(/produced 3 records to cli\.plays/)
    const tail = cli(['tail', 'cli.plays', '--format', 'json'])
    const rows = tail.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: unknown; value: { played_at: string; user_id: number } })
    expect(rows.map((r) => r.value.user_id).sort()).toEqual([1, 2, 3])
    // Canonical form on the way out: timestamp-millis as ISO with 3 digits.
    expect(rows.find((r) => r.value.user_id === 2)!.value.played_at).toBe('2026-11-01T10:02:00.000Z')
    expect(rows.map((r) => r.key).sort()).toEqual([1, 2, 3])

    const bad = path.join(dataDir, 'bad.jsonl')
    fs.writeFileSync(bad, `${JSON.stringify(play(4))}\n{"play_id": 5,\n`)
    expectCleanError(cli(['produce', 'cli.plays', '--file', bad]), 'TRIB_USAGE', /bad\.jsonl:2: /)
    expectCleanError(cli(['produce', 'cli.plays', '--file', file.replace('plays', 'nope')]), 'TRIB_USAGE', /does not exist/)

    // Exact values in and out: an int64 beyond 2^53 as written, bytes that are not UTF-8 refused naming the field.
    const big = path.join(dataDir, 'big.jsonl')
    fs.writeFileSync(big, `${JSON.stringify(play(1)).replace('"user_id":1', '"user_id":9007199254740993')}\n`)
    expect(cli(['produce', 'cli.big', '--file', big, '--schema', 'schemas/podcast.play-event.avsc', '--key-field', 'user_id']).code).toBe(0)
    const line = cli(['tail', 'cli.big', '--format', 'json']).stdout
    expect(line).toContain('"key":9007199254740993,')
    expect(line).toContain('"user_id":9007199254740993,')
    const notUtf8 = path.join(dataDir, 'not-utf8.jsonl')
    const text = Buffer.from(`${JSON.stringify(play(1)).replace('"web"', '"w~b"')}\n`)
    text[text.indexOf('~')] = 0xff
    fs.writeFileSync(notUtf8, text)
    expectCleanError(cli(['produce', 'cli.big', '--file', notUtf8, '--schema', 'schemas/podcast.play-event.avsc']), 'TRIB_USAGE', /not-utf8\.jsonl:1: .*field device is not valid UTF-8/)
  })

  it('gives one clear error for an unknown topic, a bad --from, an unknown product', () => {
    expectCleanError(cli(['tail', 'no.such.topic']), 'TRIB_TOPIC_NOT_FOUND', /topic no\.such\.topic does not exist \(known: .*cli\.plays/)
    expectCleanError(cli(['tail', 'cli.plays', '--from', 'yesterday']), 'TRIB_USAGE', /--from "yesterday": expected earliest, latest, an offset or an ISO 8601 time/)
    expectCleanError(cli(['run', 'no-such-product', '--until-idle']), 'TRIB_PRODUCT_NOT_FOUND', /no product named no-such-product/)
  })

  it('refuses to run a product whose input topic does not exist, naming the port', () => {
    const dir = tempDir('trib-empty-')
    expectCleanError(cli(['run', 'user-profiles', '--until-idle'], { dir }), 'TRIB_TOPIC_NOT_FOUND', /input port users reads topic registration\.public\.users, which does not exist/)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('reports a corrupt log file by name instead of crashing', () => {
    const dir = tempDir('trib-corrupt-')
    const file = path.join(dir, 'values.jsonl')
    fs.writeFileSync(file, Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: i, pad: 'x'.repeat(100) })).join('\n'))
    expect(cli(['produce', 'fragile', '--file', file, '--partitions', '1'], { dir }).code).toBe(0)
    const segment = path.join(dir, 'log/topics/fragile/0', fs.readdirSync(path.join(dir, 'log/topics/fragile/0')).find((f) => f.endsWith('.seg'))!)
    const bytes = fs.readFileSync(segment)
    const at = Math.floor(bytes.length / 3)
    bytes[at] = bytes[at]! ^ 0xff
    fs.writeFileSync(segment, bytes)
    expectCleanError(cli(['tail', 'fragile'], { dir }), 'TRIB_LOG_CORRUPT', new RegExp(`${segment.replace(/[/.]/g, '\\$&')}: .* at byte \\d+`))
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('prints the effective configuration with secrets redacted', () => {
    const r = spawnSync(process.execPath, [bin, 'config', '--print'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_PII_SALT: 'a-real-secret-salt' } })
    expect(r.status).toBe(0)
    const printed = JSON.parse(r.stdout) as { pii: { salt: string }; transport: { kind: string } }
    expect(printed.pii.salt).toBe('***')
    expect(printed.transport.kind).toBe('embedded')
    expect(r.stdout).not.toContain('a-real-secret-salt')
  })

  it('draws progress bars on a terminal and none when piped', () => {
    const tty = tempDir('trib-tty-')
    // script(1) gives the command a real pseudo-terminal.
    const shell = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} --data-dir ${JSON.stringify(tty)} demo --users 500 --plays 8000`
    const onTty = spawnSync('script', ['-qec', shell, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } })
    expect(onTty.status).toBe(0)
    expect(onTty.stdout).toMatch(/\r\x1b\[2Kday 1 \[[#.]{24}\] \d+% [\d,]+\/[\d,]+ records/)
    const piped = cli(['demo', '--users', '500', '--plays', '8000'], { dir: tempDir('trib-piped-') })
    expect(piped.code).toBe(0)
    expect(piped.stderr + piped.stdout).not.toMatch(/\r|\x1b\[/)
    expect(piped.stdout).toMatch(/The top podcasts of 2026-11-02/)
    fs.rmSync(tty, { recursive: true, force: true })
  })

  it('prints the spec JSON Schema', () => {
    const r = cli(['spec-schema'])
    expect((JSON.parse(r.stdout) as { title: string }).title).toBe('Tributary data product spec')
  })
})

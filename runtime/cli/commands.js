// The command table of the `tributary` CLI: every command's name, arguments and options, and the
// TypeScript module and export that implement it. Plain JavaScript on purpose: `--help`, `--version`
// and usage errors are answered from this table alone, without loading TypeScript (tsx) or any of
// the runtime, and a command loads only its own module when it runs (see bin.js).
//
// An action is called as `action(ctx, ...arguments, options)`; its module is relative to this file.

/**
 * @typedef {object} OptionDef
 * @property {string} flags commander flags, e.g. '--format <format>'
 * @property {string} description
 * @property {unknown} [default]
 * @property {'number'} [parse] turn the value into a number (checked by the action)
 * @property {boolean} [required]
 *
 * @typedef {object} CommandDef
 * @property {string} name
 * @property {string} description
 * @property {Array<[string, string?]>} [args] e.g. ['<topic>'] or ['[products...]', 'product folders or names']
 * @property {OptionDef[]} [options]
 * @property {[module: string, exportName: string]} [action]
 * @property {CommandDef[]} [commands] subcommands (then no action of its own)
 */

const format = (choices = 'text or json', def = 'text') => ({ flags: '--format <format>', description: choices, default: def })
/** @type {[string, string]} */
const products = ['[products...]', 'product folders or names (default: all configured products)']

/** @type {CommandDef[]} */
export const commands = [
  {
    name: 'demo',
    description: 'generate sample data for the example mesh, run it until idle, and print a summary, a query and time travel',
    options: [
      { flags: '--users <n>', description: 'users in the registration database', default: 200, parse: 'number' },
      { flags: '--plays <n>', description: 'podcast play events', default: 2000, parse: 'number' },
      { flags: '--seed <n>', description: 'random seed (same seed, same data)', default: 42, parse: 'number' },
      { flags: '--reset', description: 'wipe the data folder first even if it was not made by a demo' },
    ],
    action: ['./commands/demo.ts', 'demo'],
  },
  {
    name: 'init',
    description: 'scaffold a new data product in <dir>: product.yaml, a schema, transform.ts, fixtures and a test, a README, a Dockerfile',
    args: [['<dir>', 'folder to create (must be empty or absent)']],
    options: [
      { flags: '--name <name>', description: 'product name (default: the folder name)' },
      { flags: '--domain <domain>', description: 'the business domain', default: 'example' },
      { flags: '--package <spec>', description: 'how package.json depends on tributary-runtime (default ^<this version>; e.g. a file: path to a tarball)' },
    ],
    action: ['./commands/init.ts', 'init'],
  },
  {
    name: 'run',
    description: 'run data products (all configured ones by default) until stopped, or until idle',
    args: [products],
    options: [
      { flags: '--until-idle', description: 'stop once every input is read to its end and nothing moves' },
      { flags: '--env <name>', description: 'run in a dev environment: a fork of main with its own topics and table branches (see `tributary env`)' },
      format('summary format: text or json'),
    ],
    action: ['./commands/run.ts', 'run'],
  },
  {
    name: 'serve',
    description: 'the product container: run products and serve their HTTP ports (health, metrics, discovery, subscriptions, SQL, control)',
    args: [products],
    options: [
      { flags: '--port <port>', description: 'HTTP port (default http.port, 8080)', parse: 'number' },
      { flags: '--host <host>', description: 'interface to bind (default http.host, 0.0.0.0)' },
      { flags: '--probe-port <port>', description: 'also answer /healthz and /readyz on this port, from a worker thread (default http.probePort: none)', parse: 'number' },
    ],
    action: ['./commands/serve.ts', 'serve'],
  },
  {
    name: 'test',
    description: "run products against their fixture files (tests/<case>/) in memory: no log, registry or lake on disk",
    args: [products],
    options: [format()],
    action: ['./commands/test.ts', 'test'],
  },
  {
    name: 'produce',
    description: 'append records to a topic from a JSON Lines file (one value per line)',
    args: [['<topic>']],
    options: [
      { flags: '--file <jsonl>', description: 'JSON Lines file; "-" reads standard input', required: true },
      { flags: '--schema <avsc>', description: 'encode values as Avro with this schema (registered as <topic>-value), Confluent-framed' },
      { flags: '--key-field <field>', description: 'take each record key from this value field (sent as text)' },
      { flags: '--partitions <n>', description: 'partitions when the topic is created', parse: 'number' },
    ],
    action: ['./commands/produce.ts', 'produce'],
  },
  {
    name: 'tail',
    description: 'print the records of a topic, decoded (Avro via the registry, JSON, or text)',
    args: [['<topic>']],
    options: [
      { flags: '--from <position>', description: 'earliest, latest, an offset (per partition) or an ISO 8601 time', default: 'earliest' },
      { flags: '-f, --follow', description: 'keep waiting for new records' },
      { flags: '-n, --max <n>', description: 'stop after n records', parse: 'number' },
      format('text or json (one JSON object per line)'),
    ],
    action: ['./commands/tail.ts', 'tail'],
  },
  {
    name: 'topics',
    description: 'list topics with partitions and end offsets, and the lag of every consumer group; damaged partitions are marked (see doctor)',
    options: [format()],
    action: ['./commands/topics.ts', 'topics'],
  },
  {
    name: 'schemas',
    description: 'list registry subjects with their latest version and global id',
    options: [{ flags: '--subject <subject>', description: 'print every version of one subject, with the schema' }, format()],
    action: ['./commands/schemas.ts', 'schemas'],
  },
  {
    name: 'replay',
    description: 'rewind a product to the beginning (rebuild) or to a time, so the next run reprocesses its inputs',
    args: [['<product>', 'product folder or name; the product must not be running']],
    options: [{ flags: '--from <position>', description: 'earliest (rebuild: also resets ctx.state) or an ISO 8601 time', required: true }],
    action: ['./commands/replay.ts', 'replay'],
  },
  {
    name: 'promote',
    description: "make a major version of a product the one its plain names serve (discovery, catalog, query, HTTP)",
    args: [['<product>', 'product name'], ['<version>', 'major version, e.g. 2 or v2']],
    options: [{ flags: '--force', description: 'promote even when the version is still backfilling or its tables have not passed their audit' }],
    action: ['./commands/versions.ts', 'promote'],
  },
  {
    name: 'retire',
    description: 'retire a major version of a product: it stops running; its topics and tables stay readable under its versioned names',
    args: [['<product>', 'product name'], ['<version>', 'major version, e.g. 1 or v1']],
    options: [{ flags: '--after <duration>', description: 'grace period: the version keeps running this long before it stops (e.g. 7d)' }],
    action: ['./commands/versions.ts', 'retire'],
  },
  {
    name: 'versions',
    description: 'the major versions of each product: which one is promoted, which run, which are retired, backfill progress',
    args: [['[product]', 'product name (default: all)']],
    options: [format()],
    action: ['./commands/versions.ts', 'versions'],
  },
  {
    name: 'env',
    description: 'dev environments: products run on their own topics and lake branches, merged into main when their audits pass',
    commands: [
      {
        name: 'list',
        description: 'the dev environments and what they hold',
        options: [format()],
        action: ['./commands/env.ts', 'list'],
      },
      {
        name: 'merge',
        description: "fast-forward main to the environment's audited snapshots, table by table, when every one passes",
        args: [['<name>']],
        action: ['./commands/env.ts', 'merge'],
      },
      {
        name: 'drop',
        description: "remove an environment: its topics, consumer groups, state and lake branches",
        args: [['<name>']],
        action: ['./commands/env.ts', 'drop'],
      },
    ],
  },
  {
    name: 'validate',
    description: 'check product specs, their schemas, and that each transform exports what the runtime calls',
    args: [products],
    options: [format()],
    action: ['./commands/validate.ts', 'validate'],
  },
  {
    name: 'spec-schema',
    description: 'print the JSON Schema of product.yaml, for editors (e.g. yaml-language-server)',
    action: ['./commands/spec.ts', 'specSchema'],
  },
  {
    name: 'codegen',
    description: 'generate TypeScript record types from schemas/*.avsc into schemas/generated/types.ts',
    options: [
      { flags: '--schemas <dir>', description: 'folder of .avsc files', default: 'schemas' },
      { flags: '--check', description: 'fail when the generated file is stale instead of writing it' },
    ],
    action: ['./commands/spec.ts', 'codegen'],
  },
  {
    name: 'config',
    description: 'show the effective configuration (file, then environment, then flags), secrets redacted',
    options: [{ flags: '--print', description: 'print it (the default)' }],
    action: ['./commands/spec.ts', 'config'],
  },
  {
    name: 'query',
    description: 'run a read-only SQL query (DuckDB) over the lake\'s tables, e.g. "SELECT * FROM user_profiles.profiles LIMIT 5"',
    args: [['<sql>', 'one SELECT statement; tables are <product>.<port> (quote dashes, or use underscores)']],
    options: [
      { flags: '--as-of <when>', description: 'time travel: a snapshot id, a tag or branch, or an ISO 8601 time' },
      { flags: '--env <name>', description: "read a dev environment's branches (main where a table has none)" },
      format('table, json or csv', 'table'),
      { flags: '--max-rows <n>', description: 'print at most n rows', default: 10_000, parse: 'number' },
    ],
    action: ['./commands/query.ts', 'query'],
  },
  {
    name: 'lake',
    description: 'the versioned lake: snapshots, refs, time travel, audits and maintenance of <product>.<port> tables',
    commands: [
      {
        name: 'snapshots',
        description: "list a table's snapshots with their refs, operation, row counts and covered offsets",
        args: [['<table>', '<product>.<port>, e.g. user-profiles.profiles']],
        options: [format()],
        action: ['./commands/lake.ts', 'snapshots'],
      },
      {
        name: 'tag',
        description: "tag a snapshot (default: main's current one); tags are immutable names for time travel",
        args: [['<table>'], ['<name>']],
        options: [{ flags: '--snapshot <id>', description: 'snapshot id or ref to tag' }],
        action: ['./commands/lake.ts', 'tag'],
      },
      {
        name: 'branch',
        description: "create a branch at a snapshot (default: main's current one), e.g. for experiments",
        args: [['<table>'], ['<name>']],
        options: [{ flags: '--snapshot <id>', description: 'snapshot id or ref to branch from' }],
        action: ['./commands/lake.ts', 'branch'],
      },
      {
        name: 'rollback',
        description: 'point main (and the audit branch the compactor writes to) back at a snapshot or tag',
        args: [['<table>']],
        options: [{ flags: '--to <snapshot|tag>', description: 'the snapshot id or tag to return to', required: true }],
        action: ['./commands/lake.ts', 'rollback'],
      },
      {
        name: 'expire',
        description: 'remove old snapshots and delete the files no remaining snapshot references',
        args: [['<table>']],
        options: [
          { flags: '--older-than <duration>', description: 'expire snapshots older than this, e.g. 7d, 12h', required: true },
          { flags: '--retain-last <n>', description: 'always keep this many latest snapshots per branch', default: 1, parse: 'number' },
        ],
        action: ['./commands/lake.ts', 'expire'],
      },
      {
        name: 'compact',
        description: 'rewrite small data files (with their deletes applied) into larger ones',
        args: [['<table>']],
        action: ['./commands/lake.ts', 'compact'],
      },
      {
        name: 'audit',
        description: 'show the quality gate: the last recorded failure, and the rules re-checked on the newest snapshot',
        args: [['<table>']],
        options: [format()],
        action: ['./commands/lake.ts', 'audit'],
      },
    ],
  },
  {
    name: 'catalog',
    description:
      'the mesh catalog: every product with its ports; `catalog search <text>` searches names, descriptions, fields and tags; `catalog serve [products…]` serves the lake as an Iceberg REST catalog at http://<host>:<port>/iceberg',
    args: [['[verb]', '"search" or "serve"'], ['[words...]', 'search: what to search for; serve: the products whose tables to serve (default: all configured)']],
    options: [
      format(),
      { flags: '--port <port>', description: 'serve: TCP port', default: 8181, parse: 'number' },
      { flags: '--host <host>', description: 'serve: interface to bind', default: '127.0.0.1' },
    ],
    action: ['./commands/catalog.ts', 'catalog'],
  },
  {
    name: 'lineage',
    description: 'draw the port-to-port graph of the mesh',
    options: [format('mermaid or dot', 'mermaid')],
    action: ['./commands/catalog.ts', 'lineage'],
  },
  {
    name: 'doctor',
    description: 'examine the data folder (log, registry, state stores, lake tables): what is intact, what is damaged; repairs only with --repair',
    options: [
      { flags: '--repair', description: 'apply the repairs listed (what they take out is kept under <data>/doctor/<time>/)' },
      { flags: '--dry-run', description: 'only examine and list the repairs (the default)' },
      format(),
    ],
    action: ['./commands/doctor.ts', 'doctor'],
  },
  {
    name: 'registry',
    description: 'the embedded schema registry',
    commands: [
      {
        name: 'serve',
        description: 'serve the embedded registry over the Confluent Schema Registry REST API (writes need a principal of access.registryWrite: basic auth or a bearer token)',
        options: [
          { flags: '--port <port>', description: 'TCP port', default: 8081, parse: 'number' },
          { flags: '--host <host>', description: 'interface to bind', default: '127.0.0.1' },
        ],
        action: ['./commands/registry.ts', 'serve'],
      },
    ],
  },
]

import { TributaryError } from '../errors.ts'

/**
 * The files of a new product repository (`tributary init`): a spec with an input and an output port
 * (a stateful transform, a contract rule, an upsert table with an audit), the two Avro schemas, a
 * transform, a fixture case that `tributary test` runs, a README, a Dockerfile and a package.json
 * that depends on the published package. Everything it writes validates and its test passes as is.
 */
export interface ScaffoldOptions {
  name: string
  domain: string
  /** The dependency on this package: a semver range, or a file: path to a tarball or folder. */
  packageSpec: string
  packageName: string
  /** For the devDependencies that type-check the transform. */
  typescriptVersion: string
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/

export function checkProductName(name: string): string {
  if (!NAME.test(name))
    throw new TributaryError('TRIB_USAGE', `product name ${JSON.stringify(name)}: use lowercase letters, digits and dashes, starting with a letter (--name)`)
  return name
}

export function scaffold(o: ScaffoldOptions): Record<string, string> {
  const ns = o.domain.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([^a-z])/, 'p_$1')
  const topic = `${o.domain}.orders`
  return {
    'package.json': `${JSON.stringify(
      {
        name: o.name,
        version: '1.0.0',
        private: true,
        type: 'module',
        description: `The ${o.name} data product`,
        scripts: {
          validate: 'tributary validate .',
          test: 'tributary test .',
          codegen: 'tributary codegen',
          typecheck: 'tsc --noEmit',
          start: 'tributary serve .',
        },
        dependencies: { [o.packageName]: o.packageSpec },
        devDependencies: { '@types/node': '^20.19.0', typescript: o.typescriptVersion },
      },
      null,
      2,
    )}\n`,
    'product.yaml': `apiVersion: tributary/v1
kind: DataProduct
name: ${o.name}
# The major version is the product's contract: an incompatible change of an output port's schema or
# meaning is a new major version, which runs beside this one (see tributary promote / retire).
version: 1.0.0
domain: ${o.domain}
description: Running order totals per customer, from the ${o.domain} service's order events.
owner:
  team: ${o.domain}-team

inputPorts:
  # Keyed by customer_id: ctx.state is kept per input partition (as a Kafka Streams task's store
  # is), so all orders of a customer must land on one partition.
  - name: orders
    description: One JSON object per order placed, keyed by customer_id.
    topic: ${topic}
    format: json
    schema: ${ns}.Order
    contract:
      fields:
        customer_id: { required: true, pattern: '^c-[0-9]+$' }
        amount_cents: { range: { min: 0 } }

outputPorts:
  - name: totals
    description: The running total of each customer; the latest record per key is the current one.
    topic: ${o.name}.totals
    schema: ${ns}.CustomerTotal
    key: customer_id
    partitions: 3
    snapshot:
      mode: upsert
      commit: { interval: 10s }
      quality:
        notNull: [customer_id]
        unique: true
        range: { orders: { min: 1 } }

slos:
  freshness: 1m

# ctx.state holds the totals: exactly once, or a redelivered batch would count an order twice.
processing:
  guarantee: exactly-once
`,
    [`schemas/${ns}.order.avsc`]: `${JSON.stringify(
      {
        type: 'record',
        name: 'Order',
        namespace: ns,
        doc: 'An order placed by a customer.',
        fields: [
          { name: 'order_id', type: 'string' },
          { name: 'customer_id', type: 'string' },
          { name: 'amount_cents', type: 'int', doc: 'the order total in cents' },
          { name: 'placed_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
        ],
      },
      null,
      2,
    )}\n`,
    [`schemas/${ns}.customer-total.avsc`]: `${JSON.stringify(
      {
        type: 'record',
        name: 'CustomerTotal',
        namespace: ns,
        doc: "A customer's orders so far.",
        fields: [
          { name: 'customer_id', type: 'string' },
          { name: 'orders', type: 'long' },
          { name: 'total_cents', type: 'long' },
          { name: 'last_order_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
        ],
      },
      null,
      2,
    )}\n`,
    'transform.ts': `import { defineTransform } from '${o.packageName}'
import type { CustomerTotal, Order } from './schemas/generated/types.ts'

/** What the product remembers per customer, in ctx.state (committed atomically with the outputs). */
interface Tally {
  orders: number
  cents: number
}

export default defineTransform<{ orders: Order }, { totals: CustomerTotal }>((record, ctx) => {
  const order = record.value
  const before = ctx.state.get<Tally>(order.customer_id) ?? { orders: 0, cents: 0 }
  const now: Tally = { orders: before.orders + 1, cents: before.cents + order.amount_cents }
  ctx.state.put(order.customer_id, now)
  return {
    port: 'totals',
    value: { customer_id: order.customer_id, orders: now.orders, total_cents: now.cents, last_order_at: order.placed_at },
  }
})
`,
    'tests/basic/input/orders.jsonl': [
      { key: 'c-1', value: { order_id: 'o-1', customer_id: 'c-1', amount_cents: 1250, placed_at: '2026-01-05T10:00:00.000Z' } },
      { key: 'c-2', value: { order_id: 'o-2', customer_id: 'c-2', amount_cents: 500, placed_at: '2026-01-05T11:00:00.000Z' } },
      { key: 'c-1', value: { order_id: 'o-3', customer_id: 'c-1', amount_cents: 750, placed_at: '2026-01-06T09:30:00.000Z' } },
      { key: 'c-2', value: { order_id: 'o-4', customer_id: 'c-2', amount_cents: -5, placed_at: '2026-01-06T12:00:00.000Z' } },
    ]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join(''),
    'tests/basic/expected/totals.jsonl': [
      { key: 'c-1', value: { customer_id: 'c-1', orders: 1, total_cents: 1250, last_order_at: '2026-01-05T10:00:00.000Z' } },
      { key: 'c-2', value: { customer_id: 'c-2', orders: 1, total_cents: 500, last_order_at: '2026-01-05T11:00:00.000Z' } },
      { key: 'c-1', value: { customer_id: 'c-1', orders: 2, total_cents: 2000, last_order_at: '2026-01-06T09:30:00.000Z' } },
    ]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join(''),
    'tests/basic/expected/dlq.jsonl': `${JSON.stringify({ port: 'orders', code: 'TRIB_VALIDATE_RULE', stage: 'validate', offset: 3, message: 'amount_cents' })}\n`,
    'tests/basic/expected/snapshot/totals.jsonl': [
      { customer_id: 'c-1', orders: 2, total_cents: 2000, last_order_at: '2026-01-06T09:30:00.000Z' },
      { customer_id: 'c-2', orders: 1, total_cents: 500, last_order_at: '2026-01-05T11:00:00.000Z' },
    ]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join(''),
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['transform.ts', 'schemas'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules/\n.tributary/\n',
    '.dockerignore': 'node_modules\n.tributary\n.git\n',
    Dockerfile: `# The ${o.name} data product as a container: \`docker build -t ${o.name} .\`, then
# \`docker run -p 8080:8080 ${o.name}\` (serve: the product plus its HTTP ports), or any command:
# \`docker run ${o.name} test\`. Backends come from the environment (TRIBUTARY_TRANSPORT,
# TRIBUTARY_KAFKA_BROKERS, TRIBUTARY_REGISTRY_URL, TRIBUTARY_LAKE_URI, …; see the ${o.packageName} README).
FROM node:20-bookworm-slim
ENV NODE_ENV=production TRIBUTARY_DATA_DIR=/var/lib/tributary TRIBUTARY_PRODUCTS=/product
WORKDIR /product
COPY package*.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
RUN mkdir -p /var/lib/tributary && chown node:node /var/lib/tributary
USER 1000:1000
VOLUME ["/var/lib/tributary"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \\
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TRIBUTARY_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node_modules/.bin/tributary"]
CMD ["serve", "."]
`,
    'README.md': `# ${o.name}

A data product of the ${o.domain} domain, run by [${o.packageName}](https://www.npmjs.com/package/${o.packageName}):
it reads order events from \`${topic}\` and keeps the running total of each customer, as events on
\`${o.name}.totals\` and as an Iceberg table (\`${o.name}.totals\`) that passes its audit before it
is published.

| file | what |
|---|---|
| \`product.yaml\` | the spec: ports, contract rules, the table and its quality rules, SLOs |
| \`schemas/*.avsc\` | the records in and out; \`npm run codegen\` writes their TypeScript types |
| \`transform.ts\` | the product's logic |
| \`tests/<case>/\` | fixture records in, and the outputs, dead letters and table rows expected |
| \`Dockerfile\` | the product as a container (\`tributary serve\`) |

\`\`\`sh
npm install
npx tributary validate .        # spec, schemas, transform
npx tributary test              # the fixture cases, in memory (no log, registry or lake)
echo '{"order_id":"o-1","customer_id":"c-1","amount_cents":990,"placed_at":"2026-01-05T10:00:00Z"}' > orders.jsonl
npx tributary produce ${topic} --file orders.jsonl --key-field customer_id
npx tributary run . --until-idle
npx tributary query "SELECT * FROM ${o.name.replace(/-/g, '_')}.totals"
\`\`\`

Change a schema, then \`npm run codegen\` (and commit \`schemas/generated/types.ts\`). An incompatible
change of an output is a new major \`version\`: it runs beside the old one until it is promoted.
`,
  }
}

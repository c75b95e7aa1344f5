// Reads every entry of one LMDB environment and prints {"stores":n,"entries":m}. Run by
// `tributary doctor` in a child process: LMDB's native code may crash on a damaged file, and the
// doctor must survive that to report it. Plain JavaScript, so it starts without a loader.
import { open } from 'lmdb'

const root = open({ path: process.argv[2], readOnly: true, compression: false })
const names = []
for (const key of root.getKeys()) names.push(String(key))
let entries = 0
for (const name of names) {
  const db = root.openDB({ name, encoding: name === 'meta' ? 'json' : 'msgpack' })
  for (const _ of db.getRange()) entries++
}
await root.close()
process.stdout.write(JSON.stringify({ stores: names.length, entries }))

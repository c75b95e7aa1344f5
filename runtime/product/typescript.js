// TypeScript for product code: a product's transform.ts (and what it imports) loads through tsx's
// loader hooks, registered once per process, the first time a product is loaded. The compiled CLI
// (runtime/cli/compiled.js) needs no hooks for itself, so a command that loads no product never
// pays for them.
//
// Both of tsx's hooks, ESM and CommonJS: a product folder outside any package.json
// "type": "module" makes Node treat its transform.ts as CommonJS, which only the CommonJS hook can
// load.

/** @type {Promise<void> | undefined} */
let registered

/** Registers tsx's hooks in this thread, once; later calls wait for the first. */
export function registerTypeScript() {
  registered ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')])
    esm.register()
    cjs.register()
  })()
  return registered
}

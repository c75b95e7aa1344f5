// Tests run with the runtime's logs off unless the person running them asks for a level
// (TRIBUTARY_LOG_LEVEL=debug npx vitest …). Set in the test worker before any module imports the
// root logger; CLI children spawned with this environment inherit it, and the suites that read a
// child's logs set the level they need.
process.env.TRIBUTARY_LOG_LEVEL ??= 'silent'

// A Bluesky PDS + AppView for the peer tests (@atproto/dev-env), on fixed ports and without the
// demo seeding of dev-env's own bin.js (a faster start). PLC 2582, PDS 2583, AppView 2584.
// Needs DB_POSTGRES_URL, DB_POSTGRES_SCHEMA and REDIS_HOST; DEVENV_DIR is where npm installed it.
const dir = process.env.DEVENV_DIR
const { TestNetwork } = await import(`${dir}/node_modules/@atproto/dev-env/dist/index.js`)
const { mockMailer } = await import(`${dir}/node_modules/@atproto/dev-env/dist/util.js`)

const network = await TestNetwork.create({
  dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA,
  pds: { port: 2583, hostname: 'localhost', enableDidDocWithSession: true },
  bsky: { port: 2584, publicUrl: 'http://localhost:2584' },
  plc: { port: 2582 },
})
mockMailer(network.pds)
console.log(`PDS http://localhost:${network.pds.port} AppView http://localhost:${network.bsky.port}`)
console.log('Dev environment is ready')

const stop = async () => {
  await network.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

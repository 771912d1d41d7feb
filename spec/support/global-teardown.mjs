export default async function globalTeardown() {
  for (const server of globalThis.__PG_WALSTREAM_SERVERS__ ?? []) {
    await server.destroy().catch(() => {});
  }
}

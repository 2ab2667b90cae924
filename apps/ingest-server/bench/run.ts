// `pnpm bench` for the ingest server: no benchmark of its own. The client bench (`pnpm --filter @rediver/client
// bench`) measures chunk uploads against a loopback server; this app is a test and demo stand-in, not a hot path.
process.stdout.write('ingest-server: no benchmark (the @rediver/client bench covers uploads on loopback)\n');

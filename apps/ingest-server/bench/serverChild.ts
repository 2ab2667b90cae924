// A server for the bench, in a process of its own so that its CPU and memory are its own:
//   serverChild.ts ingest <appDir> <optionsJson>   the ingest server of <appDir> (this app, or another checkout)
//   serverChild.ts sink                            the anchor: reads each body whole and answers 201
// Prints `{"url": …}` on stdout once listening; stops on SIGTERM.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { startIngestServer as startIngestServerType } from '../src/index';

const [mode, appDir, optionsJson] = process.argv.slice(2);

async function main(): Promise<() => Promise<void>> {
  if (mode === 'sink') {
    const answer = JSON.stringify({
      chunk_id: 'c',
      report_id: 'r',
      chunk_index: 0,
      status: 'received',
      assets_created: 0,
      assets_updated: 0,
      findings_created: 0,
      findings_updated: 0,
      findings_skipped: 0,
    });
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (p: Buffer) => parts.push(p));
      req.on('end', () => {
        Buffer.concat(parts);
        res.writeHead(201, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(answer),
        });
        res.end(answer);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    process.stdout.write(
      JSON.stringify({
        url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
      }) + '\n',
    );
    return () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  }
  const { startIngestServer } = (await import(pathToFileURL(join(appDir!, 'src/index.ts')).href)) as {
    startIngestServer: typeof startIngestServerType;
  };
  const server = await startIngestServer(JSON.parse(optionsJson!));
  process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
  return () => server.close();
}

void main().then((close) => {
  process.once('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
});

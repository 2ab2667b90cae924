/**
 * @rediver/testkit — the workspace's private test kit (never published): a loopback HTTP server that records
 * requests, a fault-injecting loopback chunk ingest with the ingest server's fault names, a capacity-limited
 * platform, deterministic reports, temp dirs, bounded waits and a manual clock. No vitest import: fixtures run in
 * child processes and benches import it too. Tests and benches of every package and
 * app import it as a devDependency; see CONTRIBUTING.md.
 */
export { startLoopbackServer, sendJson } from './loopback';
export type { LoopbackHandler, LoopbackServer, LoopbackServerOptions, SeenRequest } from './loopback';
export { chunkAck, seededRandom, startIngestPlatform } from './ingestPlatform';
export type {
  AppliedChunk,
  IngestCounters,
  IngestFaults,
  IngestPlatform,
  IngestPlatformOptions,
} from './ingestPlatform';
export { startCapacityPlatform } from './capacityPlatform';
export type { CapacityPlatform, CapacityPlatformOptions } from './capacityPlatform';
export { makeFinding, makeReport, noise } from './reports';
export type { MakeReportOptions } from './reports';
export { tempDir } from './tempDir';
export type { TempDir } from './tempDir';
export { waitFor, within } from './waitFor';
export type { WaitForOptions } from './waitFor';
export { MANUAL_CLOCK_START_MS, manualClock } from './clock';
export type { ManualClock } from './clock';
// Per-test hooks and fake timers need the vitest runner: `@rediver/testkit/vitest`.

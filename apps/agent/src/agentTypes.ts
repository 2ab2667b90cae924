import type {
  AuditPort,
  ChunkPort,
  PipelinePort,
  PlatformPort,
  ResourcePort,
  StoredReportInfo,
} from './ports';

/* The agent's public types: what it composes, what it tracks per report, its counters and events. */

/** The packages the agent composes, adapted to its ports (see `wiring.ts`). */
export interface AgentDeps {
  audit: AuditPort;
  resource: ResourcePort;
  pipeline: PipelinePort;
  chunks: ChunkPort;
  platform?: PlatformPort;
}

/** Where a report is on its way to the platform. */
export type DeliveryState = 'pipeline' | 'chunks' | 'delivered' | 'failed';

/** One report the agent is delivering. */
export interface Delivery {
  reportId: string;
  jobId: string | undefined;
  findings: number;
  assets: number;
  state: DeliveryState;
  /** How it travels (or travelled): the pipeline, or the chunk store because it is large or had to be persisted. */
  route: 'pipeline' | 'chunks';
  /** The delivery priority the caller asked for (the job's, default 5); kept when the report moves to the chunk store. */
  priority: number;
  /** Why it went to the chunk store instead of the pipeline. */
  persistedBecause?: 'large' | 'queue-full' | 'pipeline-failed' | 'stopping';
  totalChunks?: number;
  uploadedChunks: number;
  /** True once it is in the chunk store on disk (survives a crash from then on). */
  stored?: boolean;
  error?: string;
  /**
   * The chunk store could not keep it (full disk, damaged store): held in memory while this process runs and sent
   * through the pipeline; `notKept` once the agent stopped with it neither stored nor delivered (lost).
   */
  heldInMemory?: boolean;
  notKept?: boolean;
}

/** Counters for the progress display and the summary. */
export interface AgentCounters {
  jobsQueued: number;
  jobsWaiting: number;
  jobsRunning: number;
  jobsCompleted: number;
  jobsFailed: number;
  jobsCancelled: number;
  /** Jobs that had to wait for a slot. */
  jobsThrottled: number;
  throttleEvents: number;
  findingsFound: number;
  findingsDelivered: number;
  reportsDelivered: number;
  reportsFailed: number;
  reportsPersisted: number;
  chunksTotal: number;
  chunksUploaded: number;
  chunkRetries: number;
  chunksFailed: number;
  bytesTotal: number;
  bytesUploaded: number;
  uploadRetries: number;
  /** Backlog reports (from earlier runs) delivered. */
  backlogDelivered: number;
  /** Reports kept from earlier runs, found at start (pending or re-queued). */
  backlogReports: number;
  /** Their chunks still to send when found, and how many of those were acknowledged since. */
  backlogChunksTotal: number;
  backlogChunksUploaded: number;
}

/** What the chunk engine said last about delivery (`upload:backlog`, `upload:limit`): nothing is polled. */
export interface DeliveryFigures {
  /** Uploads allowed at once now (the adaptive limit); undefined until the engine said. */
  concurrencyLimit: number | undefined;
  /** Committed chunks not delivered yet, all reports. */
  outstandingChunks: number | undefined;
  inFlight: number;
  /** Epoch ms of the last progress: a chunk or report acknowledged, a report settled. */
  lastProgressAt: number;
  /** Chunks acknowledged per second over the last seconds. */
  chunksPerSecond(): number;
}

/** How the reports of a job ended (the daemon completes or fails its command from it). */
export type JobDelivery =
  | { outcome: 'delivered'; reports: string[] }
  | { outcome: 'failed'; reports: string[]; reason: string }
  | { outcome: 'stopped'; reports: string[] };

/** A report kept from an earlier run, as the agent follows it (events only, after one read at start). */
export interface BacklogReport {
  status: StoredReportInfo['status'];
  lastError?: string;
}

/** Events of the agent (progress display, daemon). */
export interface AgentEvents {
  /** Something a progress display shows changed (coalesce: it can fire per chunk). */
  'agent:changed': () => void;
  /** A line for the operator (what `--progress` prints between status lines). */
  'agent:line': (event: { text: string }) => void;
}

/** Hooks of one job (the daemon acknowledges a command only when its job really starts). */
export interface JobHooks {
  onStart?: () => Promise<void>;
}

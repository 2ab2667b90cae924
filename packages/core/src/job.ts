import type { Report } from './report';

/** Named priorities; any integer works, higher runs first. */
export const PRIORITY = Object.freeze({ low: 0, normal: 5, high: 10, critical: 20 } as const);
/** A priority: higher is served first. */
export type Priority = number;

/** A scan job the agent runs (from the platform's commands or a local request). */
export interface Job {
  id: string;
  /** Kind of job, e.g. `scan`. */
  type: string;
  tenantId?: string;
  priority?: Priority;
  /** Scan target: a path or URL. */
  target?: string;
  /** Scanner to run. */
  scanner?: string;
  /** Platform command id when the job came from the commands API. */
  commandId?: string;
  payload?: Record<string, unknown>;
  /** Epoch ms the job was received. */
  receivedAt?: number;
}

/** How a job ended. */
export const JOB_OUTCOMES = ['completed', 'failed', 'timeout', 'cancelled'] as const;
/** How a job ended. */
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** Result of running one job. */
export interface JobResult {
  jobId: string;
  outcome: JobOutcome;
  durationMs: number;
  findingsCount: number;
  report?: Report;
  error?: { message: string; code?: string };
}

// A hand-moved `Clock` for code that takes one (vitest's fake timers: `@rediver/testkit/vitest`).
import type { Clock } from '@rediver/core';

/** A `Clock` the test moves by hand. */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/** The default start of manual clocks: 2026-01-15T10:30:00Z. */
export const MANUAL_CLOCK_START_MS = Date.UTC(2026, 0, 15, 10, 30, 0, 0);

/** A clock at `startMs` that moves only when the test says so. */
export function manualClock(startMs = MANUAL_CLOCK_START_MS): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

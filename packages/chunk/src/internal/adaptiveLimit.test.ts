// The AIMD limit against a simulated platform on a fake clock (issue 13): it converges to the platform's capacity
// and backs off when the platform slows down. No timing: only the limit's trajectory.
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from './adaptiveLimit';

/**
 * A closed loop on a fake clock (`clock.now`, carried across calls): `limit` upload slots always busy; a request's
 * round trip is `base` at or under capacity K and grows with the excess (with a little deterministic jitter); past
 * 2K the platform refuses at once (429) and the slot goes straight on to the next upload (as the engine's slots do:
 * the refused chunk waits, not the slot). Returns the limit after each finished request; `refusals` gets each outcome.
 */
function simulate(
  limiter: AdaptiveLimit,
  capacityAt: () => number,
  requests: number,
  clock = { now: 0 },
  refusals: boolean[] = [],
): number[] {
  const base = 20;
  const events: { at: number; refused: boolean; rtt: number }[] = [];
  let atServer = 0;
  const trajectory: number[] = [];
  for (let sent = 0; sent < requests;) {
    while (atServer < limiter.limit) {
      const k = capacityAt();
      const n = atServer + 1;
      limiter.start();
      const refused = n > 2 * k;
      const rtt = refused ? 1 : base * Math.max(1, n / k) * (1 + 0.02 * ((sent * 7919) % 5));
      events.push({ at: clock.now + rtt, refused, rtt });
      atServer += 1;
      sent += 1;
    }
    events.sort((a, b) => a.at - b.at);
    const e = events.shift()!;
    clock.now = e.at;
    atServer -= 1;
    limiter.done(e.refused ? { backPressure: true } : { rttMs: e.rtt, backPressure: false }, clock.now);
    trajectory.push(limiter.limit);
    refusals.push(e.refused);
  }
  return trajectory;
}

describe('AdaptiveLimit', () => {
  it('grows from the start value to the capacity and stays near it', () => {
    const limiter = new AdaptiveLimit({ initial: 2, max: 64 });
    const t = simulate(limiter, () => 16, 6000);
    const settled = t.slice(3000);
    expect(Math.max(...t)).toBeLessThan(32); // never past 2K, where the platform refuses
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(10);
    const mean = settled.reduce((s, x) => s + x, 0) / settled.length;
    // At or a little past K: past K the platform queues (latency grows, throughput stays at capacity).
    expect(mean).toBeGreaterThanOrEqual(12);
    expect(mean).toBeLessThan(24);
  });

  it('backs off when the platform slows down, and grows again when it recovers', () => {
    const limiter = new AdaptiveLimit({ initial: 2, max: 64 });
    const clock = { now: 0 };
    let phase = 16;
    const trajectory = simulate(limiter, () => phase, 4000, clock);
    expect(trajectory.at(-1)).toBeGreaterThan(10);
    phase = 4;
    // Refused requests come back at once, so the slow phase counts many requests per round trip.
    const refused: boolean[] = [];
    const slow = simulate(limiter, () => phase, 6000, clock, refused);
    const settled = slow.slice(4000);
    const share = refused.slice(4000).filter(Boolean).length / 2000;
    const mean = settled.reduce((sum, x) => sum + x, 0) / settled.length;
    // Down from ~16-20 to between K and 2K = 8, and refusals are rare once settled.
    expect(mean).toBeLessThanOrEqual(10);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(2);
    expect(share).toBeLessThanOrEqual(0.02);
    phase = 16;
    const recovered = simulate(limiter, () => phase, 6000, clock);
    expect(Math.max(...recovered.slice(3000))).toBeGreaterThan(10);
  });

  it('never goes below 1 or above its ceiling, and shrinks on back pressure before any measurement', () => {
    const limiter = new AdaptiveLimit({ initial: 4, max: 5 });
    expect(limiter.done({ backPressure: true }, 0)).toMatchObject({
      previous: 4,
      limit: 3,
      reason: 'back-pressure',
    });
    for (let i = 0; i < 10; i++) limiter.done({ backPressure: true }, i);
    expect(limiter.limit).toBe(1);
    const capped = new AdaptiveLimit({ initial: 5, max: 5 });
    expect(Math.max(...simulate(capped, () => 100, 2000))).toBe(5);
  });

  it('a single slow window (a stall) does not shrink the limit; a rise that lasts two windows does', () => {
    const limiter = new AdaptiveLimit({ initial: 6, max: 6 });
    let now = 0;
    const window = (rttMs: number): ReturnType<AdaptiveLimit['done']> => {
      limiter.start();
      now += 300; // past the window's end (about one baseline RTT, even a slow one): every call closes a window
      return limiter.done({ rttMs, backPressure: false }, now);
    };
    for (let i = 0; i < 20; i++) window(i % 2 === 0 ? 18 : 24);
    expect(limiter.limit).toBe(6);
    // A pause of the platform or of this host: one window ten times slower, then back to normal.
    expect(window(250)).toBeUndefined();
    for (let i = 0; i < 20; i++) expect(window(i % 2 === 0 ? 18 : 24)).toBeUndefined();
    expect(limiter.limit).toBe(6);
    // A queue: the round trip stays up.
    expect(window(250)).toBeUndefined();
    expect(window(250)).toMatchObject({ previous: 6, limit: 5, reason: 'rtt' });
  });
});

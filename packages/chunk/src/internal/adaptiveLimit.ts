/** Settings of the adaptive concurrency limit (Vector's defaults, chosen there by simulation). */
export interface AdaptiveLimitSettings {
  /** Limit to start with (`maxConcurrentUploads`). */
  readonly initial: number;
  /** Ceiling of the limit (`maxConcurrentUploadsCeiling`). */
  readonly max: number;
  /** Multiplicative decrease on back pressure: new = floor(limit × ratio), at least 1. Default 0.9. */
  readonly decreaseRatio?: number;
  /** Weight of a new window's mean RTT in the moving baseline. Default 0.4. */
  readonly ewmaAlpha?: number;
  /** RTT above baseline + scale × its deviation (and at least 10% above it) counts as back pressure. Default 2.5. */
  readonly rttDeviationScale?: number;
  /**
   * No increase while a window's mean RTT is above this multiple of the lowest RTT seen lately (the platform's
   * unloaded latency): the moving baseline follows a queue as it builds, the floor does not. Default 1.25.
   */
  readonly latencyTolerance?: number;
}

/** What one finished request says about the platform. */
export interface RequestOutcome {
  /** Round trip of an acknowledged request, ms (absent for a failure: only processed requests measure RTT). */
  readonly rttMs?: number;
  /** 429, 503, a timeout or a dropped connection: the platform asks us to slow down. */
  readonly backPressure: boolean;
}

/** A limit change, for events and stats. */
export interface LimitChange {
  readonly previous: number;
  readonly limit: number;
  readonly reason: 'increase' | 'back-pressure' | 'rtt';
  /** Mean RTT of the window that decided, ms. */
  readonly rttMs: number | undefined;
  /** The moving RTT baseline, ms. */
  readonly baselineRttMs: number;
}

/**
 * Adaptive request concurrency (AIMD), after Vector's ARC (RFC 1858, `src/sinks/util/adaptive_concurrency/`):
 * the round-trip times of acknowledged requests are averaged over a window of about one baseline RTT; at the
 * end of each window the limit grows by one when the window reached the limit with no back pressure and a mean
 * RTT neither above the baseline nor above `latencyTolerance` × the lowest RTT seen lately (Vegas' idea: the
 * baseline alone drifts up with a queue), and shrinks to `floor(limit × decreaseRatio)` when the mean RTT rose above
 * baseline + `rttDeviationScale` × deviation in two windows in a row (one slow window is a stall, not a queue).
 * Explicit back pressure (429, 503, timeouts) shrinks it at once and
 * starts a new window (so at most once per window; Vector waits for the window's end, Netflix's AIMD acts on each
 * drop). The baseline is an
 * exponentially weighted mean and variance of past windows. Pure: the caller passes the time.
 */
export class AdaptiveLimit {
  #limit: number;
  readonly #max: number;
  readonly #decrease: number;
  readonly #alpha: number;
  readonly #scale: number;
  readonly #tolerance: number;
  /** Lowest window mean RTT lately, ms; drifts up 0.5% a second, so a path that became slower is learnt (slowly). */
  #floorRtt = Number.POSITIVE_INFINITY;
  #floorAt = 0;
  #inFlight = 0;
  #baseline: { mean: number; variance: number } | undefined;
  #nextUpdate = 0;
  #windowSum = 0;
  #windowCount = 0;
  #backPressure = false;
  #reachedLimit = false;
  /** Windows in a row whose mean RTT was clearly above the baseline (`rtt` shrinks at two). */
  #highWindows = 0;
  /** The baseline before the first of those windows. */
  #beforeRise: { mean: number; variance: number } | undefined;
  /** No further immediate shrink before this (one per window). */
  #holdUntil = 0;

  constructor(settings: AdaptiveLimitSettings) {
    this.#limit = settings.initial;
    this.#max = settings.max;
    this.#decrease = settings.decreaseRatio ?? 0.9;
    this.#alpha = settings.ewmaAlpha ?? 0.4;
    this.#scale = settings.rttDeviationScale ?? 2.5;
    this.#tolerance = settings.latencyTolerance ?? 1.25;
  }

  /** The current limit. */
  get limit(): number {
    return this.#limit;
  }

  /** The moving RTT baseline, ms (undefined before the first acknowledged request). */
  get baselineRttMs(): number | undefined {
    return this.#baseline?.mean;
  }

  /** A request starts. */
  start(): void {
    this.#inFlight += 1;
    if (this.#inFlight >= this.#limit) this.#reachedLimit = true;
  }

  /**
   * Every allowed slot has work (sending, or in its pacing pause between two uploads): the limit is what holds
   * delivery back, as when `limit` requests are in flight. With a pause per slot the requests in flight alone
   * would rarely reach the limit against a fast platform, and the limit would never grow.
   */
  saturated(): void {
    this.#reachedLimit = true;
  }

  /** A request ended at `now` (ms); returns the change of limit it decided, if any. */
  done(outcome: RequestOutcome, now: number): LimitChange | undefined {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (outcome.backPressure) this.#backPressure = true;
    if (outcome.rttMs !== undefined) {
      this.#windowSum += outcome.rttMs;
      this.#windowCount += 1;
    }
    const current = this.#windowCount > 0 ? this.#windowSum / this.#windowCount : undefined;
    if (this.#baseline === undefined) {
      if (current !== undefined) {
        this.#baseline = { mean: current, variance: 0 };
        this.#floorRtt = current;
        this.#floorAt = now;
        this.#nextUpdate = now + current;
        this.#resetWindow();
      } else if (this.#backPressure && this.#limit > 1) {
        // Refused before anything was measured: shrink now, measure later.
        return this.#shrink('back-pressure', undefined, 0);
      }
      return undefined;
    }
    const baseline = this.#baseline;
    if (outcome.backPressure && this.#limit > 1 && now >= this.#holdUntil) {
      // An explicit refusal (429, 503, timeout) is acted on at once, at most once per window: waiting for the
      // window's end would keep sending into a platform that already said no.
      const change = this.#shrink('back-pressure', current, baseline.mean);
      this.#nextUpdate = now + baseline.mean;
      this.#holdUntil = this.#nextUpdate;
      return change;
    }
    if (now < this.#nextUpdate) return undefined;
    let change: LimitChange | undefined;
    if (
      this.#limit < this.#max &&
      this.#reachedLimit &&
      !this.#backPressure &&
      current !== undefined &&
      current <= baseline.mean &&
      current <= this.#floorRtt * this.#tolerance
    ) {
      const previous = this.#limit;
      this.#limit += 1;
      change = {
        previous,
        limit: this.#limit,
        reason: 'increase',
        rttMs: current,
        baselineRttMs: baseline.mean,
      };
    } else if (this.#limit > 1 && this.#backPressure) {
      change = this.#shrink('back-pressure', current, baseline.mean);
    } else if (current !== undefined && this.#risen(current, baseline)) {
      // RTT clearly above its baseline in two windows in a row: one slow window is a stall (a pause of the
      // platform or of this host), not a queue, and shrinking on each one kept the limit at 1-2 against a
      // platform that had room (issue 13's bench against apps/ingest-server on a busy 2-core host).
      if (this.#highWindows === 0) this.#beforeRise = { ...baseline };
      this.#highWindows += 1;
      if (this.#limit > 1 && this.#highWindows >= 2) change = this.#shrink('rtt', current, baseline.mean);
    } else {
      this.#highWindows = 0;
    }
    if (current !== undefined) {
      this.#floorRtt = Math.min(this.#floorRtt * (1 + (0.005 * (now - this.#floorAt)) / 1000), current);
      this.#floorAt = now;
      const diff = current - baseline.mean;
      const increment = this.#alpha * diff;
      baseline.mean += increment;
      baseline.variance = (1 - this.#alpha) * (baseline.variance + diff * increment);
    }
    this.#nextUpdate = now + baseline.mean;
    this.#resetWindow();
    return change;
  }

  /**
   * True when a window's mean RTT is clearly above the baseline: by `rttDeviationScale` deviations and at least
   * 10%. The second slow window in a row is compared with the baseline from before the first (which has already
   * taken the first one in).
   */
  #risen(rttMs: number, baseline: { mean: number; variance: number }): boolean {
    const ref = this.#highWindows > 0 && this.#beforeRise !== undefined ? this.#beforeRise : baseline;
    return rttMs > ref.mean + Math.max(Math.sqrt(ref.variance) * this.#scale, ref.mean * 0.1);
  }

  #shrink(reason: 'back-pressure' | 'rtt', rttMs: number | undefined, baselineRttMs: number): LimitChange {
    const previous = this.#limit;
    this.#limit = Math.max(1, Math.floor(this.#limit * this.#decrease));
    this.#highWindows = 0;
    this.#resetWindow();
    return { previous, limit: this.#limit, reason, rttMs, baselineRttMs };
  }

  #resetWindow(): void {
    this.#windowSum = 0;
    this.#windowCount = 0;
    this.#backPressure = false;
    this.#reachedLimit = this.#inFlight >= this.#limit;
  }
}

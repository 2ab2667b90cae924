/**
 * The longest delay a Node (and browser) timer holds: 2^31 − 1 ms, about 24.8 days. `setTimeout` with a longer
 * delay does not wait longer: it warns (`TimeoutOverflowWarning`) and fires after 1 ms. Every delay the SDK
 * computes from input it does not control (a server's `Retry-After`, an option) is capped here first.
 */
export const MAX_TIMER_MS = 2_147_483_647;

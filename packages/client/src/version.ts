/** Package version, for user agents and diagnostics. */
export const VERSION = '0.0.0';

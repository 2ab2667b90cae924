/** Version of the sample agent (user agent, heartbeats). */
export const VERSION = '0.1.0';

/**
 * Timing/retry keys that are global and may be overridden per service (CONTRACT §1). Kept apart
 * from config-schema.ts so the dashboard can use them without pulling zod into its bundle.
 */
export const TIMING_KEYS = [
  'healthCheckInterval',
  'serviceHealthTimeout',
  'serviceMaxRetries',
  'serviceBackoffBase',
  'restartTimeout',
  'startupTimeout',
  'resetAfter',
  'failedRetryInterval',
] as const;
export type TimingKey = (typeof TIMING_KEYS)[number];

import type { TimingKey } from '../src-shared/config-schema.js';

/**
 * The timing keys (CONTRACT §1), listed here rather than imported: config-schema.ts builds zod
 * schemas at load, and importing a value from it would put zod in the dashboard bundle. The type
 * checks below keep this list equal to the schema's.
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
] as const satisfies readonly TimingKey[];

type Missing = Exclude<TimingKey, (typeof TIMING_KEYS)[number]>;
/** Fails to compile if the schema gains a timing key this list lacks. */
export const TIMING_KEYS_COMPLETE: [Missing] extends [never] ? true : never = true;
export type { TimingKey };

// Durations in the collector's config ("10s", "5m"), same grammar as the agent's.
export { duration, parseDuration } from '../../agent/src/duration.ts';

// One pino logger per process; components take a child (`log.child({ component })`).
// Secrets never reach the log: tokens, passwords, SNMP communities and keys are redacted.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'community',
  '*.community',
  '*.auth_key',
  '*.priv_key',
  'headers.authorization',
  '*.headers.authorization',
  'config.collector.token',
];

export function createLogger(opts: { level?: string; name: string; destination?: number }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.CANH_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination({ dest: opts.destination ?? 2, sync: false }),
  );
}

// One pino logger per process (agent and collector alike); components take a child
// (`log.child({ input: 'ping' })`). Secrets never reach the log: one list of key names —
// passwords, tokens, SNMP communities and keys — is redacted wherever it appears in a
// logged object, down to four levels (a config pushed through the collector nests its
// SNMP community at inputs[i].community under config).
import { pino, type Logger } from 'pino';

/** Keys whose values are secrets, wherever they sit in a logged object. */
export const SECRET_KEYS = ['token', 'password', 'pass', 'secret', 'community', 'auth_key', 'priv_key', 'private_key', 'authorization'] as const;

const DEPTH = 4;

/** pino redact paths for SECRET_KEYS at depths 0..DEPTH-1 (`community`, `*.community`, `*.*.community`, ...). */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => Array.from({ length: DEPTH }, (_, d) => [...Array<string>(d).fill('*'), k].join('.')));

/** `sync` writes each line before returning (tests, short commands); processes that run log asynchronously. */
export function createLogger(opts: { level?: string; name: string; destination?: number; sync?: boolean }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.CANH_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination({ dest: opts.destination ?? 2, sync: opts.sync ?? false }),
  );
}

// One pino logger for the collector process; components take children. Tokens,
// passwords and authorization headers are redacted wherever they appear.
import { pino, type Logger } from 'pino';

export function createLogger(opts: { level?: string; name?: string; destination?: number } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'canh-collector',
      level: opts.level ?? process.env.CANH_LOG_LEVEL ?? 'info',
      redact: {
        paths: ['token', '*.token', 'password', '*.password', 'req.headers.authorization', 'headers.authorization', 'smtp.auth.pass'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: opts.destination ?? 2, sync: false }),
  );
}

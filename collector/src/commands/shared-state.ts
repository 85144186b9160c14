// The state a CLI command acts on: the SQLite file in state_dir, or the PostgreSQL of
// `state.postgres` shared by several collectors. On PostgreSQL a command opens the state
// without trying for the leader lock, runs, and returns only once what it wrote is stored
// (the running collectors learn of it by NOTIFY).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CanhError, createLogger } from '@canh/core';
import type { CollectorConfig } from '../config.ts';
import { PgState } from '../state/postgres.ts';

/** collector.db in state_dir (made if missing), for a command on SQLite state. */
export function sqliteFile(config: Pick<CollectorConfig, 'state_dir'>): string {
  mkdirSync(config.state_dir, { recursive: true, mode: 0o750 });
  return join(config.state_dir, 'collector.db');
}

/**
 * Run `run` on the PostgreSQL state and wait until its writes are stored. PostgreSQL
 * unreachable, or refusing a write: the code and message on standard error, exit 1.
 */
export async function withPgState(config: CollectorConfig, run: (state: PgState) => number | Promise<number>): Promise<number> {
  const pgc = config.state!.postgres;
  let state: PgState;
  try {
    state = await PgState.open({ url: pgc.url, password: config.statePassword, log: createLogger({ name: 'canh-collector', level: 'warn' }), campaign: false });
  } catch (err) {
    if (!(err instanceof CanhError)) throw err;
    process.stderr.write(`canh-collector: ${err.code}: ${err.message}\n`);
    return 1;
  }
  try {
    const code = await run(state);
    await state.flush();
    if (state.stats.failedWrites) {
      process.stderr.write(`canh-collector: CANH_ERR_STATE_WRITE: PostgreSQL refused the change (${state.stats.lastError ?? 'see the log'})\n`);
      return 1;
    }
    return code;
  } finally {
    await state.stop();
  }
}

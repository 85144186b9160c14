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

/** The PostgreSQL state for one command; null when it cannot be reached (said on standard error). */
export async function openCliState(config: CollectorConfig): Promise<PgState | null> {
  const pgc = config.state!.postgres;
  try {
    return await PgState.open({ url: pgc.url, password: config.statePassword, log: createLogger({ name: 'canh-collector', level: 'warn' }), campaign: false });
  } catch (err) {
    if (!(err instanceof CanhError)) throw err;
    process.stderr.write(`canh-collector: ${err.code}: ${err.message}\n`);
    return null;
  }
}

/** Wait until what the command wrote is stored, and close. Throws CANH_ERR_STATE_WRITE when PostgreSQL refused a write. */
export async function closeCliState(state: PgState): Promise<void> {
  try {
    await state.flush();
  } finally {
    await state.stop();
  }
  if (state.stats.failedWrites) throw new CanhError('CANH_ERR_STATE_WRITE', `PostgreSQL refused the change (${state.stats.lastError ?? 'see the log'})`);
}

/**
 * Run `run` on the PostgreSQL state and wait until its writes are stored. PostgreSQL
 * unreachable, or refusing a write: the code and message on standard error, exit 1.
 */
export async function withPgState(config: CollectorConfig, run: (state: PgState) => number | Promise<number>): Promise<number> {
  const state = await openCliState(config);
  if (!state) return 1;
  let code: number;
  try {
    code = await run(state);
  } finally {
    await closeCliState(state).catch((err: unknown) => {
      if (!(err instanceof CanhError)) throw err;
      process.stderr.write(`canh-collector: ${err.code}: ${err.message}\n`);
      code = 1;
    });
  }
  return code;
}

// canh-collector state migrate --to postgres [--force]: move the SQLite state of one
// collector into the PostgreSQL named by `state.postgres` (state/migrate.ts).
import { join } from 'node:path';
import { CanhError } from '@canh/core';
import type { CollectorConfig } from '../config.ts';
import { migrateToPostgres } from '../state/migrate.ts';
import { redactUrl } from '../state/postgres.ts';
import { out } from './usage.ts';
import { CLI_WORDS, cliLang } from './words.ts';

export async function stateCommand(
  sub: string | undefined,
  values: { to?: string; force?: boolean; json?: boolean; lang?: string },
  config: CollectorConfig,
): Promise<number> {
  if (sub !== 'migrate' || values.to !== 'postgres') {
    process.stderr.write('usage: canh-collector state migrate --to postgres [--force] --config FILE\n');
    return 2;
  }
  const pgc = config.state?.postgres;
  try {
    if (!pgc) throw new CanhError('CANH_ERR_STATE_MIGRATE', 'the config has no state.postgres: add its url (and password_file) first');
    const file = join(config.state_dir, 'collector.db');
    const r = await migrateToPostgres({ file, url: pgc.url, password: config.statePassword, force: values.force });
    if (values.json) out(JSON.stringify(r));
    else {
      const w = CLI_WORDS[cliLang(values.lang, config)];
      out(w.migrated(file, redactUrl(pgc.url)));
      for (const t of r.tables) out(`  ${t.table}\t${t.rows}`);
      out(w.migrateNext);
    }
    return 0;
  } catch (err) {
    if (err instanceof CanhError) {
      process.stderr.write(`canh-collector state migrate: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

// `canh-collector silence add|list|expire`: silences from the command line, written to
// the collector's SQLite file; a running collector picks them up at its next flush.
//   canh-collector silence add agency=so-tttt host=web01 --duration 2h --comment "thay ổ cứng"
//   canh-collector silence list [--all] [--json]
//   canh-collector silence expire ID
import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCollectorConfig } from '../config.ts';
import { SqliteAlertStore } from './store.ts';
import { createSilence, silenceJson, silenceState } from './silences.ts';

export const SILENCE_USAGE = `       canh-collector silence add MATCHER... (--duration 2h | --until TIME) --comment TEXT [--author NAME] [--start TIME]
       canh-collector silence list [--all] [--json]
       canh-collector silence expire ID`;

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function defaultAuthor(): string {
  try {
    return process.env.SUDO_USER ?? userInfo().username;
  } catch {
    return '';
  }
}

export async function silenceCommand(argv: string[], opts: { now?: () => number } = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        matcher: { type: 'string', short: 'm', multiple: true },
        author: { type: 'string', short: 'a' },
        comment: { type: 'string' },
        duration: { type: 'string', short: 'd' },
        until: { type: 'string' },
        start: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`canh-collector silence: ${(err as Error).message}\nusage:\n${SILENCE_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  const file = values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml';
  const config = loadCollectorConfig(file);
  mkdirSync(config.state_dir, { recursive: true, mode: 0o750 });
  const store = new SqliteAlertStore(join(config.state_dir, 'collector.db'));
  const now = (opts.now ?? Date.now)();
  try {
    switch (sub) {
      case 'add': {
        const s = createSilence(
          {
            matchers: [...rest, ...(values.matcher ?? [])],
            createdBy: values.author ?? defaultAuthor(),
            comment: values.comment,
            startsAt: values.start,
            endsAt: values.until,
            duration: values.until ? undefined : (values.duration ?? undefined),
          },
          now,
        );
        store.addSilence(s);
        if (values.json) out(JSON.stringify(silenceJson(s, now)));
        else out(`silence ${s.id} added: ${(silenceJson(s, now).matchers as string[]).join(' ')} until ${new Date(s.endsAt).toISOString()}`);
        return 0;
      }
      case 'list': {
        const list = store.silences().filter((s) => values.all || silenceState(s, now) !== 'expired');
        if (values.json) out(JSON.stringify(list.map((s) => silenceJson(s, now))));
        else {
          out(['ID', 'STATE', 'MATCHERS', 'ENDS', 'AUTHOR', 'COMMENT'].join('\t'));
          for (const s of list) {
            const j = silenceJson(s, now);
            out([s.id, j.state, (j.matchers as string[]).join(' '), j.ends_at, s.createdBy, s.comment].join('\t'));
          }
        }
        return 0;
      }
      case 'expire': {
        const id = rest[0];
        if (!id) {
          process.stderr.write('canh-collector silence expire: name the silence id (see: silence list)\n');
          return 2;
        }
        const s = store.expireSilence(id, now);
        if (!s) {
          process.stderr.write(`canh-collector: no silence "${id}"\n`);
          return 1;
        }
        out(`silence ${s.id} expired`);
        return 0;
      }
      default:
        process.stderr.write(`canh-collector silence: unknown subcommand "${sub ?? ''}"\nusage:\n${SILENCE_USAGE}\n`);
        return 2;
    }
  } finally {
    store.close();
  }
}

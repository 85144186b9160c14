// accounts: watches the local account database (/etc/passwd, /etc/group) for new and
// deleted users, a second uid 0, members added to privileged groups and system accounts
// given a login shell, against a baseline persisted in the agent's state_dir. The files are
// read and compared only when a stat says they changed.
import { statSync } from 'node:fs';
import { z } from 'zod';
import { defineInput } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { parseGroup, parsePasswd } from '../passwd.ts';
import { privilegedMembers } from './parse.ts';
import { compareAccounts, type AccountFacts } from './compare.ts';

const config = z.object({
  passwd_file: z.string().min(1).default('/etc/passwd'),
  group_file: z.string().min(1).default('/etc/group'),
  privileged_groups: z.array(z.string().min(1)).default(['sudo', 'wheel', 'adm', 'root']),
  /** Accounts with a uid up to this are system accounts (Debian and RHEL: below 1000). */
  system_uid_max: z.number().int().min(0).default(999),
  /** System accounts allowed a login shell (e.g. postgres on Debian). */
  allow_login_shell: z.array(z.string().min(1)).default([]),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('accounts'),
});

const FactsSchema = shape.object({
  users: shape.record(shape.object({ uid: shape.number, gid: shape.number, shell: shape.string, home: shape.string })),
  privileged: shape.record(shape.array(shape.string)),
});

export default defineInput({
  name: 'accounts',
  description: 'New, deleted and privileged local accounts (/etc/passwd, /etc/group)',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: FactsSchema, log: ctx.log });
    let known: AccountFacts | undefined;
    let loaded = false;
    // Inode, size, mtime and ctime of both files when they were last compared. ctime cannot be
    // set back by a process, so a write changes it; but two writes within one timestamp tick
    // look alike, so a file changed less than a second before it was read is read again.
    let compared = '';
    const stamp = (): { print: string; settled: boolean } | undefined => {
      try {
        const p = statSync(cfg.passwd_file);
        const g = statSync(cfg.group_file);
        const settled = Date.now() - Math.max(p.ctimeMs, g.ctimeMs) > 1000;
        return { print: `${p.ino}:${p.size}:${p.mtimeMs}:${p.ctimeMs} ${g.ino}:${g.size}:${g.mtimeMs}:${g.ctimeMs}`, settled };
      } catch {
        return undefined; // read() says what is wrong
      }
    };

    const read = async (): Promise<AccountFacts | undefined> => {
      let passwd: string;
      let group: string;
      try {
        [passwd, group] = await Promise.all([ctx.readFile(cfg.passwd_file), ctx.readFile(cfg.group_file)]);
      } catch (err) {
        ctx.log.warn({ err, code: 'CANH_ERR_ACCOUNTS_UNREADABLE' }, 'cannot read the account files; check passwd_file and group_file');
        return undefined;
      }
      const p = parsePasswd(passwd);
      const g = parseGroup(group);
      if (p.malformed || g.malformed) ctx.log.warn({ passwd: p.malformed, group: g.malformed }, 'skipped malformed lines in the account files');
      // A truncated read (file being rewritten) must not look like every account deleted.
      if (p.users.length === 0) return undefined;
      const users: AccountFacts['users'] = {};
      for (const u of p.users) users[u.name] = { uid: u.uid, gid: u.gid, shell: u.shell, home: u.home };
      return { users, privileged: privilegedMembers(p.users, g.groups, cfg.privileged_groups) };
    };

    return {
      async gather(acc) {
        const st = stamp();
        if (st && st.print === compared) return;
        const now = await read();
        if (!now) return;
        if (st?.settled) compared = st.print;
        if (!loaded) {
          loaded = true;
          known = await store.load();
        }
        const firstRun = !known;
        const events = compareAccounts(known ?? { users: {}, privileged: {} }, now, {
          systemUidMax: cfg.system_uid_max,
          allowLoginShell: cfg.allow_login_shell,
          firstRun,
        });
        for (const e of events) acc.addEvent(e);
        if (firstRun || JSON.stringify(known) !== JSON.stringify(now)) {
          known = now;
          await store.save(now);
        }
      },
    };
  },
});

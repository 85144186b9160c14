// suspicious_process: reports processes whose executable lives in a world-writable folder
// (/tmp, /var/tmp, /dev/shm), runs from memory only (memfd), or was deleted after start —
// the usual footprint of a dropped payload, cryptominer or web-shell child. Each process is
// reported once (per pid, start time and executable), across agent restarts too.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineInput, type InputContext } from '../../inputs/types.ts';
import { baselineStore } from '../baseline.ts';
import * as shape from '../shape.ts';
import { groupFindings, sample } from '../group-findings.ts';
import { parsePasswd } from '../passwd.ts';
import { formatCmdline, judgeExe, parseStartTime, parseStatus, type Verdict } from './parse.ts';

const config = z.object({
  /** Folders an executable should never run from. */
  dirs: z.array(z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path')).default(['/tmp', '/var/tmp', '/dev/shm']),
  /** Executables allowed anyway (exact paths, " (deleted)" left off). */
  allow_exes: z.array(z.string().min(1)).default([]),
  /** Longest command line kept as evidence (characters). */
  max_cmdline: z.number().int().min(16).max(4096).default(512),
  /** More processes than this of one executable in one gather become one event. */
  max_events_per_exe: z.number().int().min(1).default(5),
  state_name: z.string().regex(/^[a-z0-9_.-]+$/i).default('suspicious_process'),
});

const BaselineSchema = shape.object({ reported: shape.array(shape.string) });

interface Finding {
  pid: number;
  exe: string;
  verdict: Verdict;
  cmdline: string;
  user: string;
  uid?: number;
  ppid?: number;
}

async function userNames(ctx: InputContext): Promise<Map<number, string>> {
  const text = await ctx.readFile('/etc/passwd').catch(() => '');
  return new Map(parsePasswd(text).users.map((u) => [u.uid, u.name]));
}

export default defineInput({
  name: 'suspicious_process',
  description: 'Processes running from /tmp, /var/tmp, /dev/shm, from memory only, or from a deleted executable',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const store = baselineStore({ stateDir: ctx.stateDir, name: cfg.state_name, schema: BaselineSchema, log: ctx.log });
    const allow = new Set(cfg.allow_exes);
    let reported: Set<string> | undefined;

    return {
      async gather(acc) {
        if (!reported) reported = new Set((await store.load())?.reported ?? []);
        let pids: string[];
        try {
          pids = (await ctx.readdir(ctx.procRoot)).filter((n) => /^\d+$/.test(n));
        } catch (err) {
          ctx.log.warn({ err, code: 'CANH_ERR_PROC_UNREADABLE' }, 'cannot list processes; is procfs mounted (HOST_PROC)?');
          return;
        }
        const alive = new Set<string>();
        const findings: Finding[] = [];
        let names: Map<number, string> | undefined;
        for (const pid of pids) {
          const dir = join(ctx.procRoot, pid);
          // Kernel threads have no exe; other users' processes need root: both are skipped.
          const exe = await readlink(join(dir, 'exe')).catch(() => undefined);
          if (!exe) continue;
          const verdict = judgeExe(exe, cfg.dirs);
          if (!verdict || allow.has(exe.replace(/ \(deleted\)$/, ''))) continue;
          const start = parseStartTime(await ctx.readFile(join(dir, 'stat')).catch(() => ''));
          const key = `${pid}:${start ?? '?'}:${exe}`;
          alive.add(key);
          if (reported.has(key)) continue;
          const status = parseStatus(await ctx.readFile(join(dir, 'status')).catch(() => ''));
          const cmdline = formatCmdline(await ctx.readFile(join(dir, 'cmdline')).catch(() => ''), cfg.max_cmdline);
          names ??= await userNames(ctx);
          const user = status.uid === undefined ? 'unknown' : (names.get(status.uid) ?? String(status.uid));
          findings.push({ pid: Number(pid), exe, verdict, cmdline, user, uid: status.uid, ppid: status.ppid });
          reported.add(key);
        }
        const { single, grouped } = groupFindings(findings, (f) => f.exe, cfg.max_events_per_exe);
        for (const f of single) {
          acc.addEvent({
            type: 'suspicious_process',
            severity: f.verdict.severity,
            mitre: f.verdict.mitre,
            message: `process ${f.pid} (${f.exe}) of user ${f.user} ${f.verdict.why}`.slice(0, 2000),
            evidence: {
              pid: f.pid,
              exe: f.exe.slice(0, 1024),
              cmdline: f.cmdline,
              user: f.user,
              reason: f.verdict.reason,
              ...(f.uid !== undefined ? { uid: f.uid } : {}),
              ...(f.ppid !== undefined ? { ppid: f.ppid } : {}),
            },
          });
        }
        for (const g of grouped) {
          const f = g.items[0]!;
          acc.addEvent({
            type: 'suspicious_process',
            severity: f.verdict.severity,
            mitre: f.verdict.mitre,
            message: `${g.items.length} processes of ${f.exe} ${f.verdict.why}`.slice(0, 2000),
            evidence: { exe: f.exe.slice(0, 1024), cmdline: f.cmdline, user: f.user, reason: f.verdict.reason, pids: sample(g.items.map((x) => String(x.pid)), 20) },
            count: g.items.length,
          });
        }
        // Forget processes that have ended, so the baseline stays small.
        let changed = findings.length > 0;
        for (const k of reported) {
          if (!alive.has(k)) {
            reported.delete(k);
            changed = true;
          }
        }
        if (changed) await store.save({ reported: [...reported] });
      },
    };
  },
});

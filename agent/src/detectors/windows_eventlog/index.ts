// windows_eventlog: security events from the Windows Security log, read with wevtutil from a
// bookmark (the last EventRecordID, kept in state_dir) so nothing is read twice: failed logon
// brute force and its success, lockouts, account and privileged group changes, a cleared
// log, audit policy and firewall changes. A failed read is data (a point with its result).
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Accumulator, type ExecResult } from '../../inputs/types.ts';
import { aggregationShape, makeAggregator } from '../auth/options.ts';
import { emit } from '../auth/emit.ts';
import { windowsEvent } from './events.ts';
import { readEvent, toAuthRecord } from './parse.ts';
import { parseEventStream } from './xml.ts';

const config = z.object({
  channel: z
    .string()
    .regex(/^[\w /-]+$/, 'must be an event log name such as Security')
    .default('Security'),
  /** Events read per wevtutil call, and calls per gather at most (bounds the cost of a backlog). */
  batch: z.number().int().min(1).max(5000).default(500),
  max_batches: z.number().int().min(1).max(1000).default(20),
  /** On the very first run, read the existing log instead of starting after its newest event. */
  from_beginning: z.boolean().default(false),
  wevtutil: z.string().min(1).default('wevtutil'),
  timeout: duration({ min: 100 }).default(30_000),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('windows_eventlog'),
  ...aggregationShape,
});

/** wevtutil arguments for the events after `last`, oldest first. */
export function queryArgs(channel: string, last: number, count: number): string[] {
  return ['qe', channel, `/q:*[System[(EventRecordID>${last})]]`, '/f:xml', '/rd:false', `/c:${count}`];
}

/** wevtutil arguments for the newest event only (to place the bookmark on a first run). */
export function newestArgs(channel: string): string[] {
  return ['qe', channel, '/rd:true', '/f:xml', '/c:1'];
}

export type ReadResult = 'ok' | 'wevtutil_missing' | 'access_denied' | 'timeout' | 'wevtutil_failed' | 'bad_output';

const ADVICE: Record<Exclude<ReadResult, 'ok'>, [string, string]> = {
  wevtutil_missing: [
    'CANH_ERR_WINEVENT_WEVTUTIL_MISSING',
    'wevtutil was not found: it ships with Windows (System32); check PATH or set the detector option wevtutil',
  ],
  access_denied: [
    'CANH_ERR_WINEVENT_ACCESS_DENIED',
    'reading the Security log was refused: run the agent service as LocalSystem or add its account to "Event Log Readers"',
  ],
  timeout: ['CANH_ERR_WINEVENT_TIMEOUT', 'wevtutil did not answer in time: raise the detector option timeout or lower batch'],
  wevtutil_failed: ['CANH_ERR_WINEVENT_FAILED', 'wevtutil failed: see stderr in this log line; check the channel name'],
  bad_output: ['CANH_ERR_WINEVENT_BAD_OUTPUT', 'wevtutil printed something that is not event XML; the events in it were skipped'],
};

export function classifyExec(r: ExecResult): ReadResult {
  if (r.timedOut) return 'timeout';
  if (r.code === null && /ENOENT|not found/i.test(r.stderr)) return 'wevtutil_missing';
  if (/access is denied|\(5\)/i.test(r.stderr)) return 'access_denied';
  if (r.code !== 0) return 'wevtutil_failed';
  return 'ok';
}

export default defineInput({
  name: 'windows_eventlog',
  description: 'Brute force, lockouts, account/group, audit policy and firewall changes and log clearing from the Windows Security log',
  platforms: ['win32'],
  config,
  create(c, ctx) {
    const log = ctx.log.child({ detector: 'windows_eventlog' });
    const agg = makeAggregator(c, () => ctx.now());
    const stateName = `bookmark-${c.state_name}.json`;
    let lastProblem: ReadResult = 'ok';

    async function loadBookmark(): Promise<number | undefined> {
      try {
        const v = (JSON.parse((await ctx.state.read(stateName)) ?? '{}') as { last?: unknown }).last;
        return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
      } catch {
        return undefined;
      }
    }
    async function saveBookmark(last: number): Promise<void> {
      await ctx.state.write(stateName, JSON.stringify({ channel: c.channel, last }));
    }
    function report(acc: Accumulator, result: ReadResult, read: number, last: number, detail?: object): void {
      if (result !== 'ok' && result !== lastProblem) {
        const [code, msg] = ADVICE[result];
        log.warn({ code, ...detail }, msg);
      }
      lastProblem = result;
      acc.addPoint(
        'windows_eventlog',
        { channel: c.channel },
        { result, records_read: read, last_record_id: last },
        { int: ['records_read', 'last_record_id'] },
      );
    }

    return {
      async gather(acc) {
        let last = await loadBookmark();
        if (last === undefined && !c.from_beginning) {
          const r = await ctx.exec(c.wevtutil, newestArgs(c.channel), { timeoutMs: c.timeout });
          const res = classifyExec(r);
          if (res !== 'ok') return report(acc, res, 0, 0, { stderr: r.stderr.slice(0, 500) });
          const { events } = parseEventStream(r.stdout);
          const newest = events.map(readEvent).find((x) => x)?.recordId ?? 0;
          await saveBookmark(newest);
          return report(acc, 'ok', 0, newest);
        }
        last ??= 0;
        let read = 0;
        for (let i = 0; i < c.max_batches; i++) {
          const r = await ctx.exec(c.wevtutil, queryArgs(c.channel, last, c.batch), { timeoutMs: c.timeout });
          const res = classifyExec(r);
          if (res !== 'ok') return report(acc, res, read, last, { stderr: r.stderr.slice(0, 500) });
          const { events: els, problems } = parseEventStream(r.stdout);
          if (problems.length) report(acc, 'bad_output', read, last, { problems: problems.slice(0, 3) });
          for (const el of els) {
            const rec = readEvent(el);
            if (!rec) continue;
            read++;
            if (rec.recordId > last) last = rec.recordId;
            const a = toAuthRecord(rec);
            if (a) emit(acc, agg.observe(a));
            const e = windowsEvent(rec, c.privileged_groups, ctx.now());
            if (e) emit(acc, [e]);
          }
          await saveBookmark(last);
          if (els.length < c.batch) break;
        }
        emit(acc, agg.tick());
        if (lastProblem !== 'bad_output') report(acc, 'ok', read, last);
        else lastProblem = 'ok';
      },
    };
  },
});

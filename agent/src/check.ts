// `canh-agent check`: run every configured input and detector once and print line protocol, like
// `telegraf --test`. Inputs that need two samples for rates are gathered twice.
import { encodePoint, type Point } from '@canh/protocol';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.ts';
import { createContext, createCounterSource } from './context/index.ts';
import type { Accumulator } from './inputs/types.ts';

export async function runCheck(
  config: AgentConfig,
  log: Logger,
  out: (line: string) => void,
  opts: { only?: string[]; secondPassMs?: number; platform?: NodeJS.Platform } = {},
): Promise<number> {
  let errors = 0;
  const platform = opts.platform ?? process.platform;
  // Windows: one typeperf for every host input of the check, sampling each second; each
  // gather waits for its next row.
  const perfCounters = platform === 'win32' ? createCounterSource({ ...config.agent.windows_counters, intervalMs: 1000, log }) : undefined;
  try {
    errors = await checkEntries(config, log, out, opts, platform, perfCounters);
  } finally {
    perfCounters?.stop();
  }
  return errors;
}

async function checkEntries(
  config: AgentConfig,
  log: Logger,
  out: (line: string) => void,
  opts: { only?: string[]; secondPassMs?: number },
  platform: NodeJS.Platform,
  perfCounters: ReturnType<typeof createCounterSource> | undefined,
): Promise<number> {
  let errors = 0;
  // Detectors too: their gather shows what they hold (persistence prints its baseline counts).
  const entries = [...config.inputs, ...config.detectors].filter((e) => !opts.only?.length || opts.only.includes(e.type));
  const wantsSecondPass = new Set(['cpu', 'net', 'diskio', 'snmp']);
  // Every input is created before the first gathers: on Windows each says then which
  // counters it wants, and the one typeperf starts with all of them (not once per input).
  const created = entries.map((entry) => {
    const ctx = createContext({
      stateDir: config.agent.state_dir,
      hostname: config.agent.hostname,
      log: log.child({ input: entry.type }),
      platform,
      ...(perfCounters ? { perfCounters } : {}),
    });
    return { entry, input: entry.definition.create(entry.options, ctx) };
  });
  for (const { entry, input } of created) {
    if (!input.gather) continue;
    const points: Point[] = [];
    const acc: Accumulator = {
      addPoint: (name, tags, fields, o) =>
        points.push({ name, tags: { ...tags, ...entry.tags }, fields, time: o?.time ?? Date.now(), ...(o?.int ? { int: [...o.int] } : {}) }),
      addEvent: (e) => out(`# event ${JSON.stringify(e)}`),
    };
    try {
      await input.gather(acc);
      if (wantsSecondPass.has(entry.type)) {
        points.length = 0;
        await new Promise((r) => setTimeout(r, opts.secondPassMs ?? 1000));
        await input.gather(acc);
      }
    } catch (err) {
      errors++;
      out(`# ${entry.type}: error: ${(err as Error).message}`);
    } finally {
      await input.stop?.();
    }
    for (const p of points) {
      const line = encodePoint(p, { host: config.agent.hostname });
      if (line) out(line);
    }
  }
  return errors;
}

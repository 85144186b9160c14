// Test helpers for the inputs: a fake InputContext fed from a map of files and/or a
// captured testdata tree, an accumulator that records what an input emits, and the
// real context for tests that read this machine's /proc and /sys.
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FieldValue } from '@canh/protocol';
import { createContext } from '../context/index.ts';
import type { Accumulator, InputContext, PointOptions } from './types.ts';
import { memoryState } from '../state.ts';

export interface RecordedPoint {
  name: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  int: readonly string[];
  time?: number;
}

export interface Recorder extends Accumulator {
  points: RecordedPoint[];
  /** Points of one measurement whose tags include `tags`. */
  find(name: string, tags?: Record<string, string>): RecordedPoint[];
}

export function recorder(): Recorder {
  const points: RecordedPoint[] = [];
  return {
    points,
    addPoint(name, tags, fields, opts?: PointOptions) {
      points.push({ name, tags, fields, int: opts?.int ?? [], time: opts?.time });
    },
    addEvent() {
      throw new Error('host inputs emit no events');
    },
    find(name, tags = {}) {
      return points.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
    },
  };
}

type Statfs = Awaited<ReturnType<InputContext['statfs']>>;

export interface FakeOptions {
  /** Absolute path → content; checked before `root`. Mutate it between gathers. */
  files?: Record<string, string | Uint8Array>;
  /** A captured tree: "/proc/stat" is read from `<root>/proc/stat`. */
  root?: string;
  statfs?: Record<string, Statfs>;
  /** Mutable clock, in ms. */
  clock?: { now: number };
}

function enoent(op: string, p: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${op} '${p}'`), { code: 'ENOENT' });
}

export function fakeContext(opts: FakeOptions = {}): InputContext {
  const files = opts.files ?? {};
  const clock = opts.clock ?? { now: 1_700_000_000_000 };
  const raw = async (p: string): Promise<string | Uint8Array> => {
    const f = files[p];
    if (f !== undefined) return f;
    if (opts.root) return readFile(join(opts.root, p)).catch(() => Promise.reject(enoent('open', p)));
    throw enoent('open', p);
  };
  const readNow = (p: string): string => {
    const f = files[p];
    if (f !== undefined) return typeof f === 'string' ? f : Buffer.from(f).toString('utf8');
    if (!opts.root) throw enoent('open', p);
    try {
      return readFileSync(join(opts.root, p), 'utf8');
    } catch {
      throw enoent('open', p);
    }
  };
  return {
    readFile: async (p) => {
      const f = await raw(p);
      return typeof f === 'string' ? f : Buffer.from(f).toString('utf8');
    },
    readFileNow: readNow,
    readAttribute: readNow,
    readFileBytes: async (p) => {
      const f = await raw(p);
      return typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
    },
    readdir: async (p) => {
      const prefix = p.endsWith('/') ? p : `${p}/`;
      const names = new Set(
        Object.keys(files)
          .filter((k) => k.startsWith(prefix))
          .map((k) => k.slice(prefix.length).split('/')[0]!),
      );
      if (opts.root) for (const n of await readdir(join(opts.root, p)).catch(() => [])) names.add(n);
      if (names.size === 0) throw enoent('scandir', p);
      return [...names].sort();
    },
    statfs: async (p) => {
      const s = opts.statfs?.[p];
      if (!s) throw enoent('statfs', p);
      return s;
    },
    exec: () => Promise.reject(new Error('host inputs never exec')),
    now: () => clock.now,
    procRoot: '/proc',
    sysRoot: '/sys',
    stateDir: tmpdir(),
    state: memoryState(),
    hostname: 'test-host',
    log: pino({ level: 'silent' }),
  };
}

/** This machine's real /proc and /sys through the agent's production context. */
export function hostContext(): InputContext {
  const ctx = createContext({ stateDir: tmpdir(), hostname: hostname(), log: pino({ level: 'silent' }) });
  return { readFileBytes: (p) => readFile(p), ...ctx };
}

/** The folder of an input's captured files, next to its test. */
export function testdata(input: string, ...parts: string[]): string {
  return join(import.meta.dirname, input, 'testdata', ...parts);
}

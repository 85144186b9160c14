// Shared by the tests of the uptime checks (ping, http_response, net_response, x509_cert,
// reboot), not shipped behaviour: an accumulator that records points and events, the real
// InputContext on a temporary state dir, and the README example parsed with the schema.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { FieldValue } from '@canh/protocol';
import { createContext } from '../context/index.ts';
import type { Accumulator, InputContext, InputDefinition } from './types.ts';

export interface CheckPoint {
  name: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  int: readonly string[];
}
export type CheckEvent = Parameters<Accumulator['addEvent']>[0];

export interface CheckRecorder extends Accumulator {
  points: CheckPoint[];
  events: CheckEvent[];
  /** The one point whose tags include `tags`; throws when there is not exactly one. */
  one(tags: Record<string, string>): CheckPoint;
}

export function checkRecorder(): CheckRecorder {
  const points: CheckPoint[] = [];
  const events: CheckEvent[] = [];
  return {
    points,
    events,
    addPoint(name, tags, fields, opts) {
      // Every field must be storable: a NaN or Infinity would be refused by the protocol.
      for (const [k, v] of Object.entries(fields)) {
        if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${name}.${k} is ${v}`);
      }
      for (const k of opts?.int ?? []) {
        if (!Number.isInteger(fields[k])) throw new Error(`${name}.${k} is declared int but is ${String(fields[k])}`);
      }
      points.push({ name, tags, fields, int: opts?.int ?? [] });
    },
    addEvent(e) {
      events.push(e);
    },
    one(tags) {
      const found = points.filter((p) => Object.entries(tags).every(([k, v]) => p.tags[k] === v));
      if (found.length !== 1) throw new Error(`expected one point with ${JSON.stringify(tags)}, got ${found.length}`);
      return found[0]!;
    },
  };
}

/** The agent's real context (real exec, files, clock) on a fresh temporary state dir. */
export function realContext(over: Partial<InputContext> = {}): InputContext {
  const stateDir = mkdtempSync(join(tmpdir(), 'canh-check-'));
  const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });
  return { ...createContext({ stateDir, hostname: 'test-host', log }), ...over };
}

/** The first ```yaml block of an input's README, parsed with its own schema. */
export function readmeExample(dir: string, def: InputDefinition): unknown {
  const md = readFileSync(join(dir, 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(md);
  if (!block) throw new Error(`${dir}/README.md has no yaml example`);
  const doc = parseYaml(block[1]!) as unknown;
  if (!Array.isArray(doc) || doc.length === 0) throw new Error('README example must be a list entry "- type: <name>"');
  const { type, interval: _i, tags: _t, ...options } = doc[0] as Record<string, unknown>;
  if (type !== def.name) throw new Error(`README example has type ${String(type)}, expected ${def.name}`);
  return def.config.strict().parse(options);
}

// Shared by the detector tests (not shipped behaviour): an accumulator that records what a
// detector emits, a real InputContext on a temporary state dir, and the README example.
import { pino } from 'pino';
import { EventSchema } from '@canh/protocol';
import { createContext } from '../context/index.ts';
import type { Accumulator, InputContext } from '../inputs/types.ts';

export type Recorded = Parameters<Accumulator['addEvent']>[0];

/** Records events, and fails at once on one the collector would refuse (the wire schema). */
export function recorder(detector = 'test'): { acc: Accumulator; events: Recorded[] } {
  const events: Recorded[] = [];
  return {
    events,
    acc: {
      addPoint: () => {},
      addEvent: (e) => {
        const r = EventSchema.safeParse({ time: Date.now(), detector, ...e });
        if (!r.success) throw new Error(`invalid event ${JSON.stringify(e)}: ${r.error.message}`);
        events.push(e);
      },
    },
  };
}

export function testContext(stateDir: string, over: Partial<InputContext> = {}): InputContext {
  const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });
  return { ...createContext({ stateDir, hostname: 'test-host', log }), ...over };
}

/** The first ```yaml block of a detector's README, parsed with its own schema (same rule as inputs). */
export { readmeExample } from '../inputs/check-testing.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `pred` holds or time runs out; returns whether it held. */
export async function until(pred: () => boolean, timeoutMs = 5000, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(stepMs);
  }
  return pred();
}

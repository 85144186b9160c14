// The `reboot` input: a `host_reboot` security event when the host booted again since the
// agent last looked. An unplanned reboot can be a crash, a power cut, or someone covering
// tracks; the last boot is kept in the state dir so agent restarts do not count as reboots.
import { z } from 'zod';
import { duration } from '@canh/core';
import { badData, readOptional, readRequired } from '../procfs.ts';
import { defineInput, type StateStore } from '../types.ts';
import { parseBootId, parseBtime, rebooted, type BootState } from './parse.ts';

export const config = z
  .object({
    /** Without boot_id, a btime change up to this much is a clock step, not a reboot. */
    btime_tolerance: duration().default(60_000),
  })
  .strict();

const STATE = 'reboot/last_boot.json';

async function loadState(state: StateStore): Promise<BootState | undefined> {
  try {
    const s = JSON.parse((await state.read(STATE)) ?? 'null') as Partial<BootState> | null;
    if (!s) return undefined;
    return typeof s.boot_time === 'number' ? { boot_time: s.boot_time, boot_id: typeof s.boot_id === 'string' ? s.boot_id : undefined } : undefined;
  } catch {
    return undefined;
  }
}

export default defineInput({
  name: 'reboot',
  description: 'host_reboot security event when the host booted since the last run',
  platforms: ['linux'],
  enabledByDefault: false,
  config,
  create(c, ctx) {
    return {
      async gather(acc) {
        const statPath = `${ctx.procRoot}/stat`;
        const bootTime = parseBtime(await readRequired(ctx, statPath));
        if (bootTime === undefined) throw badData(statPath, 'no btime line');
        const cur: BootState = { boot_time: bootTime, boot_id: parseBootId(await readOptional(ctx, `${ctx.procRoot}/sys/kernel/random/boot_id`)) };
        const prev = await loadState(ctx.state);
        if (prev && prev.boot_time === cur.boot_time && prev.boot_id === cur.boot_id) return;
        // First run: remember quietly; nothing is known about the time before.
        if (prev && rebooted(prev, cur, c.btime_tolerance / 1000)) {
          acc.addEvent({
            type: 'host_reboot',
            severity: 'medium',
            message: `${ctx.hostname} booted at ${new Date(cur.boot_time * 1000).toISOString()} (previous boot ${new Date(prev.boot_time * 1000).toISOString()}): check whether the reboot was planned`,
            evidence: { previous_boot_time: prev.boot_time, boot_time: cur.boot_time },
            time: cur.boot_time * 1000,
          });
        }
        await ctx.state.write(STATE, JSON.stringify(cur));
      },
    };
  },
});

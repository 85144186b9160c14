// The `cpu` input on Windows: the Processor object's per-CPU and _Total percentages from
// the shared typeperf (../perf-counters), under Telegraf's Linux field names. Windows
// counts privileged (kernel) time including the time spent in interrupts and DPCs; those
// two are taken out of usage_system and sent as usage_irq and usage_softirq (a DPC is
// Windows's deferred interrupt work, as a softirq is Linux's), so the parts still add up
// to 100. nice, iowait, steal, guest and guest_nice have no Windows counterpart: absent.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { counterSource, newSamples, pct } from '../perf-counters/gather.ts';
import { sampleValue } from '../perf-counters/source.ts';

const P = 'Processor';
export const CPU_COUNTERS: readonly CounterRequest[] = ['% Processor Time', '% User Time', '% Privileged Time', '% Interrupt Time', '% DPC Time'].map(
  (counter) => ({ object: P, counter, instance: '*' }),
);

/** Telegraf's cpu tag for a Processor instance: "_Total" → cpu-total, "3" → cpu3; others (processor groups) as printed. */
export function cpuTag(instance: string): string {
  if (instance === '_Total') return 'cpu-total';
  return /^\d+$/.test(instance) ? `cpu${instance}` : instance;
}

export function windowsCpuFields(get: (counter: string) => number | undefined, reportActive: boolean): Record<string, number> | undefined {
  const busy = get('% Processor Time');
  const user = get('% User Time');
  const priv = get('% Privileged Time');
  if (busy === undefined || user === undefined || priv === undefined) return undefined;
  const irq = get('% Interrupt Time') ?? 0;
  const dpc = get('% DPC Time') ?? 0;
  const out: Record<string, number> = {
    usage_user: pct(user),
    usage_system: pct(priv - irq - dpc),
    usage_idle: pct(100 - busy),
    usage_irq: pct(irq),
    usage_softirq: pct(dpc),
  };
  if (reportActive) out.usage_active = pct(busy);
  return out;
}

export function windowsCpu(config: { percpu: boolean; totalcpu: boolean; report_active: boolean }, ctx: InputContext): Input {
  const src = counterSource(ctx, CPU_COUNTERS);
  const cursor = { seq: src.latestSeq };
  return {
    async gather(acc) {
      const s = (await newSamples(ctx, src, cursor)).at(-1);
      if (!s) return;
      for (const inst of s.instances.get(P) ?? []) {
        const isTotal = inst === '_Total';
        if (isTotal ? !config.totalcpu : !config.percpu) continue;
        const fields = windowsCpuFields((c) => sampleValue(s, P, inst, c), config.report_active);
        if (fields) acc.addPoint('cpu', { cpu: cpuTag(inst) }, fields);
      }
    },
  };
}

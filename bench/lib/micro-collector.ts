// Micro-benchmark of the collector's per-batch CPU path (decode → encode → join) on the
// bench's point shapes, without sockets: where the per-point microseconds go, for both
// spellings of a batch (`points`, and `series` + `rows` as canh-agent sends them).
import { performance } from 'node:perf_hooks';
import { decodeAgentMessage, PointEncoder, type Batch } from '@canh/protocol';
import { encodeBatch } from '../../collector/src/identity.ts';
import { HostSource, type BatchForm } from './points.ts';

const BATCHES = Number(process.env.MB_BATCHES ?? 2000);
const CYCLES = Number(process.env.MB_CYCLES ?? 10);
const id = { host: 'host-0001', agency: 'so-tttt', site: 'dc1' };

for (const form of ['points', 'rows'] as BatchForm[]) {
  const frames: Buffer[] = [];
  for (let i = 0; i < BATCHES; i++) {
    const src = new HostSource({ host: `h${i % 1000}`, agency: 'a', site: 's' }, 1_700_000_000_000 + i);
    frames.push(Buffer.from(`{"type":"batch","seq":${i + 1},${src.nextBody(form, CYCLES)},"events":[]}`));
  }
  const count = (b: Batch) => b.points.length + b.rows.length;
  const run = (label: string, fn: (f: Buffer) => unknown): void => {
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      let n = 0;
      for (const f of frames) n += fn(f) as number;
      const ms = performance.now() - t0;
      if (r === 2) console.log(`${form.padEnd(6)} ${label.padEnd(31)} ${((ms * 1000) / n).toFixed(3)} µs per point`);
    }
  };
  console.log(`${form}: ${CYCLES} cycles per batch, ${(frames.reduce((n, f) => n + f.length, 0) / frames.length / (CYCLES * 15)).toFixed(0)} bytes per point`);
  run('JSON.parse', (f) => {
    const b = JSON.parse(f.toString()) as { points?: unknown[]; rows?: unknown[] };
    return (b.points?.length ?? 0) + (b.rows?.length ?? 0);
  });
  run('decode (parse+validate)', (f) => count(decodeAgentMessage(f) as Batch));
  run('decode+encode', (f) => encodeBatch(decodeAgentMessage(f) as Batch, id).lines.length);
  // One encoder per connection, as the collector keeps: frames come from 1,000 hosts in turn.
  const encoders = Array.from({ length: 1000 }, () => new PointEncoder({ ...id }));
  let k = 0;
  run('decode+encode (per-conn cache)', (f) => encodeBatch(decodeAgentMessage(f) as Batch, id, encoders[k++ % 1000]).lines.length);
  run('... +join', (f) => {
    const { lines } = encodeBatch(decodeAgentMessage(f) as Batch, id, encoders[k++ % 1000]);
    return lines.join('\n').length > 0 ? lines.length : 0;
  });
}

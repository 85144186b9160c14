// Micro-benchmark of the collector's per-batch CPU path (decode → encode → join) on the
// bench's point shapes, without sockets: where the per-point microseconds go.
import { performance } from 'node:perf_hooks';
import { decodeAgentMessage, PointEncoder, type Batch } from '@canh/protocol';
import { encodeBatch } from '../../collector/src/identity.ts';
import { HostSource } from './points.ts';

const BATCHES = Number(process.env.MB_BATCHES ?? 2000);
const frames: Buffer[] = [];
for (let i = 0; i < BATCHES; i++) {
  const src = new HostSource({ host: `h${i % 1000}`, agency: 'a', site: 's' }, 1_700_000_000_000 + i);
  frames.push(Buffer.from(`{"type":"batch","seq":${i + 1},"points":[${src.nextJson(10)}],"events":[]}`));
}
const id = { host: 'host-0001', agency: 'so-tttt', site: 'dc1' };
function run(label: string, fn: (f: Buffer) => unknown): void {
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    let n = 0;
    for (const f of frames) n += fn(f) as number;
    const ms = performance.now() - t0;
    if (r === 2) console.log(`${label.padEnd(28)} ${((ms * 1000) / n).toFixed(3)} µs per point`);
  }
}
run('JSON.parse', (f) => (JSON.parse(f.toString()) as { points: unknown[] }).points.length);
run('decode (parse+validate)', (f) => (decodeAgentMessage(f) as Batch).points.length);
run('decode+encode', (f) => encodeBatch((decodeAgentMessage(f) as Batch).points, [], id).lines.length);
// One encoder per connection, as the collector keeps: frames come from 1,000 hosts in turn.
const encoders = Array.from({ length: 1000 }, () => new PointEncoder({ ...id }));
let k = 0;
run('decode+encode (per-conn cache)', (f) => encodeBatch((decodeAgentMessage(f) as Batch).points, [], id, encoders[k++ % 1000]).lines.length);
run('... +join', (f) => {
  const { lines } = encodeBatch((decodeAgentMessage(f) as Batch).points, [], id, encoders[k++ % 1000]);
  return lines.join('\n').length > 0 ? lines.length : 0;
});

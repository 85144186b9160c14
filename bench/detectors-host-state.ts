// Prints the CPU cost of one run of each host-state detector on this machine
// (npm run bench:detectors is not wired; run: npx node bench/detectors-host-state.ts).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContext, recorder } from '../agent/src/detectors/testing.ts';
import fim, { type FileIntegrity } from '../agent/src/detectors/file_integrity/index.ts';
import ports from '../agent/src/detectors/listening_ports/index.ts';
import accounts from '../agent/src/detectors/accounts/index.ts';
import lan from '../agent/src/detectors/lan_devices/index.ts';
import susp from '../agent/src/detectors/suspicious_process/index.ts';
import type { InputDefinition } from '../agent/src/inputs/types.ts';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timeIt(label: string, fn: () => Promise<void>, runs = 5): Promise<void> {
  await fn(); // first run records the baseline
  const t0 = cpuMs();
  for (let i = 0; i < runs; i++) await fn();
  console.log(`${label}: ${((cpuMs() - t0) / runs).toFixed(2)} CPU ms per run`);
}

const dir = mkdtempSync(join(tmpdir(), 'canh-bench-'));
try {
  const www = join(dir, 'www');
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(www, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(www, `d${d}`, `f${f}.html`), `<p>page ${d}/${f}</p>\n`.repeat(20));
  }
  {
    const t0 = cpuMs();
    const inst = fim.create(fim.config.parse({ web_roots: [www], watch: false }), testContext(join(dir, 's1'))) as FileIntegrity;
    await inst.start!(recorder().acc);
    await inst.idle();
    console.log(`file_integrity: first scan (default paths + 10,100 entries web root, hashing): ${(cpuMs() - t0).toFixed(0)} CPU ms`);
    await timeIt('file_integrity: periodic scan, nothing changed (default paths + 10,100 entries)', () => inst.scanNow(), 3);
    const small = fim.create(fim.config.parse({ watch: false }), testContext(join(dir, 's2'))) as FileIntegrity;
    await small.start!(recorder().acc);
    await small.idle();
    await timeIt('file_integrity: periodic scan, default paths only', () => small.scanNow());
    await inst.stop!();
    await small.stop!();
  }
  const polled = async (def: InputDefinition, options: Record<string, unknown> = {}) => {
    const inst = def.create(def.config.parse(options), testContext(join(dir, def.name)));
    const { acc } = recorder();
    await timeIt(def.name, () => inst.gather!(acc), 10);
  };
  await polled(ports);
  await polled(accounts);
  await polled(lan);
  await polled(susp);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

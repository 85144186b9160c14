// Step the wall clock of a real process with libfaketime (Debian package `faketime`): the
// process reads its offset from a file at every call, so writing the file steps its clock
// at once. The monotonic clock is left alone, as a real clock step leaves it.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function library(): string {
  for (const dir of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(dir)) continue;
    for (const sub of readdirSync(dir)) {
      const lib = join(dir, sub, 'faketime', 'libfaketimeMT.so.1');
      if (existsSync(lib)) return lib;
    }
  }
  throw new Error('libfaketime not found: install the Debian package faketime (test/run.sh does)');
}

export interface FakeClock {
  /** Environment for spawning the process whose clock this is. */
  env: Record<string, string>;
  /** Seconds the process's wall clock is off the real one now. */
  offsetS: number;
  /** Step the process's wall clock by `s` seconds (negative: back). */
  step(s: number): void;
}

export function fakeClock(file: string): FakeClock {
  const clock: FakeClock = {
    env: {
      LD_PRELOAD: library(),
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
    offsetS: 0,
    step(s: number) {
      clock.offsetS += s;
      // libfaketime's relative form: "+N" or "-N" seconds from the real time.
      writeFileSync(file, `${clock.offsetS >= 0 ? '+' : ''}${clock.offsetS}\n`);
    },
  };
  writeFileSync(file, '+0\n');
  return clock;
}

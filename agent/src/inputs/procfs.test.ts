// fields(): the split every /proc parser uses, against the plain definition (runs of
// whitespace separate, nothing empty) on made-up lines and on every line of the captured
// /proc and /sys files in the inputs' testdata.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fields, int, uint } from './procfs.ts';

const plain = (line: string) => line.split(/\s+/).filter((f) => f !== '');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('fields', () => {
  it('splits on runs of spaces and tabs, with nothing empty', () => {
    for (const line of ['', ' ', '   ', 'x', ' cpu  1 2 3 ', 'a\tb  c', '\tName:\tbash\n', 'eth0: 1 2\n', 'Tcp: 1 -1 200', '0.00 0.01 0.05 1/123 4567\n']) {
      expect(fields(line), JSON.stringify(line)).toEqual(plain(line));
    }
    expect(fields('  eth0:   12  34 ')).toEqual(['eth0:', '12', '34']);
  });

  it('agrees with the plain definition on every captured /proc and /sys line', () => {
    const root = import.meta.dirname;
    const captured = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => {
        try {
          return files(join(root, e.name, 'testdata'));
        } catch {
          return [];
        }
      })
      .filter((f) => !f.endsWith('.json'));
    let lines = 0;
    for (const f of captured) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        expect(fields(line), `${f}: ${JSON.stringify(line)}`).toEqual(plain(line));
        lines++;
      }
    }
    expect(lines).toBeGreaterThan(500);
  });

  it('reads numbers as the kernel prints them, nothing else', () => {
    expect([uint('0'), uint('18446744073709551615'), uint('12'), uint(''), uint(' 1'), uint('0x1f'), uint('1e3'), uint('-1')]).toEqual([
      0,
      undefined,
      12,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([int('-1'), int('7'), int('--1')]).toEqual([-1, 7, undefined]);
  });
});

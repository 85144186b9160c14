import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DiskSpool } from './disk.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'canh-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const frame = (n: number, size = 50) => (seq: number) => ({ frame: JSON.stringify({ type: 'batch', seq, pad: 'p'.repeat(size), n }), points: n, events: 0 });

describe('disk spool', () => {
  it('keeps unacked batches across a restart, in order, with seqs continuing', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 5; i++) a.append(frame(i));
    a.ack(1);
    a.ack(3);
    a.close();
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 100).map((r) => r.seq)).toEqual([2, 4, 5]);
    expect(JSON.parse(b.after(3, 1)[0]!.frame.toString()).n).toBe(4);
    expect(b.recovery).toMatchObject({ records: 5, unacked: 3, truncatedBytes: 0 });
    expect(b.append(frame(6))).toBe(6);
    b.close();
  });

  it('hands over the frame it just wrote as the bytes on disk, and reads older ones back', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never' });
    const text = (n: number) => JSON.stringify({ type: 'batch', seq: n, n, who: 'Nguyễn Văn A' });
    s.append((seq) => ({ frame: text(seq), points: 1, events: 0 }));
    s.append((seq) => ({ frame: text(seq), points: 1, events: 0 }));
    const [first, last] = s.after(0, 10);
    expect([first!.frame.toString(), last!.frame.toString()]).toEqual([text(1), text(2)]);
    s.close();
    // The same bytes from disk after a restart.
    const again = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never' });
    expect(again.after(0, 10).map((r) => r.frame.toString())).toEqual([text(1), text(2)]);
    again.close();
  });

  it('deletes fully acked segments and compacts the ack log', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 1e7, fsync: 'never', segmentBytes: 1000 });
    for (let i = 1; i <= 100; i++) s.append(frame(1));
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBeGreaterThan(5);
    for (let i = 1; i <= 100; i++) s.ack(i);
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(1);
    expect(s.stats()).toMatchObject({ batches: 0, bytes: 0 });
    s.close();
    const again = new DiskSpool({ dir, maxBytes: 1e7, fsync: 'never', segmentBytes: 1000 });
    expect(again.after(0, 1000)).toEqual([]);
    expect(again.append(frame(1))).toBe(101);
    again.close();
  });

  it('cuts a torn tail at start-up and reports it, keeping every whole record', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 3; i++) a.append(frame(i));
    a.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.startsWith('seg-'))!);
    const whole = statSync(seg).size;
    truncateSync(seg, whole - 7); // power loss in the middle of record 3
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 10).map((r) => r.seq)).toEqual([1, 2]);
    expect(b.recovery.truncatedBytes).toBeGreaterThan(0);
    // Seqs are never reused, even for a record that was cut off.
    expect(b.append(frame(9))).toBe(4);
    b.close();
  });

  it('a corrupt record (bad checksum) ends the readable part; garbage never crashes', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 3; i++) a.append(frame(i));
    a.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.startsWith('seg-'))!);
    const buf = readFileSync(seg);
    const second = buf.indexOf('"seq":2');
    buf[second + 3] = buf[second + 3]! ^ 0xff;
    writeFileSync(seg, buf);
    appendFileSync(seg, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    writeFileSync(join(dir, 'meta.json'), '{not json');
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 10).map((r) => r.seq)).toEqual([1]);
    b.close();
  });

  it('when full, drops the oldest segments and counts the points, persistently', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 3000, fsync: 'never', segmentBytes: 1000 });
    for (let i = 1; i <= 60; i++) s.append(frame(10));
    const st = s.stats();
    expect(st.bytes).toBeLessThanOrEqual(3000);
    expect(st.droppedPoints).toBeGreaterThan(0);
    expect(st.droppedPoints + st.batches * 10).toBe(600);
    expect(s.after(0, 1)[0]!.seq).toBeGreaterThan(1);
    s.close();
    expect(new DiskSpool({ dir, maxBytes: 3000, fsync: 'never', segmentBytes: 1000 }).stats().droppedPoints).toBe(st.droppedPoints);
  });

  it('survives kill -9 of a process appending with fsync=always: every reported append is there', async () => {
    const dir = tmp();
    const script = `
      import { DiskSpool } from ${JSON.stringify(join(import.meta.dirname, 'disk.ts'))};
      const s = new DiskSpool({ dir: ${JSON.stringify(dir)}, maxBytes: 1e8, fsync: 'always' });
      let i = 0;
      setInterval(() => { for (let k = 0; k < 20; k++) { const seq = s.append((q) => ({ frame: JSON.stringify({ seq: q, pad: 'x'.repeat(200) }), points: 1, events: 0 })); process.stdout.write(seq + '\\n'); } }, 1);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (out.split('\n').length > 500) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const reported = out.split('\n').filter(Boolean).map(Number);
    const s = new DiskSpool({ dir, maxBytes: 1e8, fsync: 'always' });
    const seqs = new Set(s.after(0, 1e6).map((r) => r.seq));
    for (const seq of reported) expect(seqs.has(seq)).toBe(true);
    expect(seqs.size).toBeGreaterThanOrEqual(reported.length);
    s.close();
  });
});

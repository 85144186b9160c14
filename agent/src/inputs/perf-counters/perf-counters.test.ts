// The shared Windows counter source: typeperf's CSV on captured and composed output
// (testdata/README.md says which is which), the names of a Vietnamese Windows, the
// mapping of columns to counters, and the kept child's restarts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { localName, localPath, parseNameTables } from './names.ts';
import { parseHeader, parseRow, parseValue, splitQuoted } from './typeperf.ts';
import { CounterSource, mapColumns, sampleValue } from './source.ts';
import { capture, replay } from './testing.ts';

const lines = (file: string) =>
  capture(file)
    .split('\n')
    .filter((l) => l.trim());

describe('typeperf CSV', () => {
  it('reads a captured standard output: no time zone in the header, padding and the closing message ignored', () => {
    const [head, ...rest] = lines('captured-processor-desktop-8foavtd.txt');
    const h = parseHeader(head!)!;
    expect(h.biasMinutes).toBeUndefined();
    expect(h.columns).toHaveLength(10);
    expect(h.columns[4]).toEqual({ object: 'Processor', instance: '_Total', counter: '% Processor Time' });
    const rows = rest.map((l) => parseRow(l, h.columns.length, h.biasMinutes));
    expect(rows.filter(Boolean)).toHaveLength(3);
    expect(rows[3]).toBeUndefined(); // "コマンドは、正しく完了しました。"
    expect(rows[2]!.values[4]).toBe(23.293155);
    expect(rows[1]!.local! - rows[0]!.local!).toBe(2018);
  });

  it('takes the bias of a log file header to UTC, and reads blanks and decimal commas', () => {
    const h = parseHeader(
      '"(PDH-CSV 4.0) (SE Asia Standard Time)(-420)","\\\\H\\Memory\\Available Bytes","\\\\H\\Network Interface(Intel[R] I350 Gigabit Network Connection)\\Bytes Sent/sec"',
    )!;
    expect(h.biasMinutes).toBe(-420);
    expect(h.columns[1]!.instance).toBe('Intel[R] I350 Gigabit Network Connection');
    const r = parseRow('"12/07/2026 16:00:10.500","123456789,000000"," "', 2, h.biasMinutes)!;
    expect(r.time).toBe(Date.UTC(2026, 11, 7, 9, 0, 10, 500));
    expect(r.values).toEqual([123456789, undefined]);
  });

  it('refuses what is not a row or a header', () => {
    expect(splitQuoted('"a","b')).toBeUndefined();
    expect(parseHeader('"a","b"')).toBeUndefined();
    expect(parseRow('Exiting, please wait...', 1, 0)).toBeUndefined();
    expect(parseRow('"12/07/2026 16:00:10.500","1","2"', 1, 0)).toBeUndefined();
    expect(parseValue('-')).toBeUndefined();
    expect(parseValue('1.5e+010')).toBe(1.5e10);
  });
});

describe('counter names', () => {
  const vi_ = parseNameTables(capture('composed-names-vi-VN.txt'));

  it('finds the Vietnamese name of an English one through its Perflib index', () => {
    expect(localName(vi_, 'Processor')).toBe('Bộ xử lý');
    expect(localName(vi_, 'Bytes Received/sec')).toBe('Byte Nhận được/giây');
    expect(localPath(vi_, { object: 'Network Interface', counter: 'Current Bandwidth', instance: '*' }).path).toBe('\\Giao diện Mạng(*)\\Băng thông Hiện tại');
    expect(localPath(vi_, { object: 'System', counter: 'System Up Time' }).path).toBe('\\Hệ thống\\Thời gian Hoạt động của Hệ thống');
  });

  it('keeps the English name where the tables do not know it, or are missing', () => {
    expect(localName(vi_, 'Commit Limit')).toBe('Commit Limit');
    expect(localName(undefined, 'Processor')).toBe('Processor');
  });
});

describe('mapping columns to counters', () => {
  it('maps a capture by name when its columns are not grouped as asked ("\\Processor(*)\\*" prints CPU by CPU)', () => {
    const h = parseHeader(lines('captured-processor-all-gs-1-win.csv')[0]!)!;
    const reqs = ['% Processor Time', '% DPC Time'].map((counter) => ({ req: { object: 'Processor', counter, instance: '*' }, object: 'Processor', counter }));
    const keys = mapColumns(h.columns, reqs);
    expect(keys.filter(Boolean)).toHaveLength(6);
    expect(keys[0]).toBe('Processor\u00000\u0000% Processor Time');
    expect(keys[34]).toBe('Processor\u0000_Total\u0000% DPC Time');
    expect(keys[1]).toBeUndefined();
  });

  it('maps by name when the columns come in another order than asked', () => {
    const cols = [
      { object: 'System', instance: undefined, counter: 'Threads' },
      { object: 'System', instance: undefined, counter: 'Processes' },
    ];
    const reqs = ['Processes', 'Threads'].map((counter) => ({ req: { object: 'System', counter }, object: 'System', counter }));
    expect(mapColumns(cols, reqs)).toEqual(['System\u0000\u0000Threads', 'System\u0000\u0000Processes']);
  });

  it('maps by position when the names came back mis-decoded but grouped as asked', () => {
    const cols = [
      { object: 'B? x? l?', instance: '0', counter: '% Th?i gian' },
      { object: 'B? x? l?', instance: '_Total', counter: '% Th?i gian' },
      { object: 'H? th?ng', instance: undefined, counter: 'Th?i gian ho?t ??ng' },
    ];
    const reqs = [
      { req: { object: 'Processor', counter: '% Processor Time', instance: '*' }, object: 'Bộ xử lý', counter: '% Thời gian Bộ xử lý' },
      { req: { object: 'System', counter: 'System Up Time' }, object: 'Hệ thống', counter: 'Thời gian Hoạt động của Hệ thống' },
    ];
    expect(mapColumns(cols, reqs)).toEqual([
      'Processor\u00000\u0000% Processor Time',
      'Processor\u0000_Total\u0000% Processor Time',
      'System\u0000\u0000System Up Time',
    ]);
  });
});

describe('the kept typeperf', () => {
  afterEach(() => vi.useRealTimers());

  it('asks typeperf for the counters in the host language and reads the Vietnamese capture', async () => {
    const r = replay('composed-vi-VN.csv', { names: 'composed-names-vi-VN.txt' });
    r.src.want([
      { object: 'Processor', counter: '% Processor Time', instance: '*' },
      { object: 'System', counter: 'System Up Time' },
    ]);
    await r.started;
    expect(r.args()).toEqual(['\\Bộ xử lý(*)\\% Thời gian Bộ xử lý', '\\Hệ thống\\Thời gian Hoạt động của Hệ thống', '-si', '10']);
    r.feed(2);
    const s = r.src.samplesSince(0);
    expect(s.map((x) => x.seq)).toEqual([1, 2]);
    expect(s[1]!.instances.get('Processor')).toEqual(['0', '1', '2', '3', '_Total']);
    expect(sampleValue(s[0]!, 'System', undefined, 'System Up Time')).toBe(345678.9);
    expect(s[1]!.dt).toBeGreaterThan(9);
    expect(s[1]!.dt).toBeLessThan(11);
    expect(r.src.samplesSince(2)).toEqual([]);
    r.src.stop();
  });

  it('starts typeperf again after it ends, later each time, and counts it', async () => {
    vi.useFakeTimers();
    const r = replay('composed-server-en.csv');
    r.src.want([{ object: 'Memory', counter: 'Available Bytes' }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.starts()).toBe(1);
    r.exit();
    expect(r.src.restarts).toBe(1);
    await vi.advanceTimersByTimeAsync(700);
    expect(r.starts()).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(r.starts()).toBe(2);
    r.exit();
    await vi.advanceTimersByTimeAsync(1300);
    expect(r.starts()).toBe(2); // the second wait is about 2 s
    await vi.advanceTimersByTimeAsync(1200);
    expect(r.starts()).toBe(3);
    // A run that delivers rows resets the wait.
    r.feed(1);
    expect(r.src.samplesSince(0)).toHaveLength(1);
    r.exit();
    await vi.advanceTimersByTimeAsync(1300);
    expect(r.starts()).toBe(4);
    expect(r.src.restarts).toBe(3);
    r.src.stop();
    r.exit();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(r.starts()).toBe(4);
  });

  it('replaces a running typeperf when an input wants more counters', async () => {
    vi.useFakeTimers();
    const r = replay('composed-server-en.csv');
    r.src.want([{ object: 'Memory', counter: 'Available Bytes' }]);
    await vi.advanceTimersByTimeAsync(0);
    r.src.want([{ object: 'Memory', counter: 'Available Bytes' }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.starts()).toBe(1);
    r.src.want([{ object: 'System', counter: 'Processes' }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.starts()).toBe(2);
    expect(r.args()).toEqual(['\\Memory\\Available Bytes', '\\System\\Processes', '-si', '10']);
    expect(r.src.restarts).toBe(0);
    r.src.stop();
  });

  it('replaces typeperf every refresh interval, so adapters plugged in since are read; not counted as a restart', async () => {
    vi.useFakeTimers();
    const r = replay('composed-server-en.csv', { refreshMs: 60_000 });
    r.src.want([{ object: 'Memory', counter: 'Available Bytes' }]);
    await vi.advanceTimersByTimeAsync(0);
    for (let t = 0; t < 60_000; t += 20_000) {
      r.feed(1);
      r.src.samplesSince(0);
      await vi.advanceTimersByTimeAsync(20_000);
    }
    expect(r.starts()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    r.src.samplesSince(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.starts()).toBe(2);
    expect(r.src.restarts).toBe(0);
    r.src.stop();
  });

  it('replaces a typeperf that stays silent, and counts it as a restart', async () => {
    vi.useFakeTimers();
    const r = replay('composed-server-en.csv');
    r.src.want([{ object: 'Memory', counter: 'Available Bytes' }]);
    await vi.advanceTimersByTimeAsync(0);
    r.feed(1);
    await vi.advanceTimersByTimeAsync(40_000);
    r.src.samplesSince(0);
    expect(r.starts()).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    r.src.samplesSince(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.starts()).toBe(2);
    expect(r.src.restarts).toBe(1);
    r.src.stop();
  });

  it('refuses an interval below a second (typeperf -si takes whole seconds)', () => {
    const src = new CounterSource({
      typeperf: 't',
      powershell: 'p',
      intervalMs: 200,
      refreshMs: 0,
      startProcess: () => ({ pid: 1, kill() {} }),
      exec: async () => ({ code: 1, signal: null, stdout: '', stderr: '', timedOut: false }),
      now: Date.now,
      log: pino({ level: 'silent' }),
    });
    expect(src.intervalMs).toBe(1000);
  });
});

// net on Windows, from composed typeperf output (perf-counters/testdata/README.md): the
// Linux fields, virtual adapters left out, and an adapter unplugged between two rows.
import { describe, expect, it } from 'vitest';
import net from './index.ts';
import { recorder } from '../testing.ts';
import { replay } from '../perf-counters/testing.ts';

describe('net on Windows', () => {
  it('sends bytes, packets, errors and drops with their rates, virtual adapters left out, and forgets an adapter that went away', async () => {
    const r = replay('composed-server-en.csv');
    const input = net.create(net.config.parse({}), r.ctx);
    await r.started;
    const acc = recorder();
    r.feed(1);
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags.interface).sort()).toEqual(['Intel[R] 82574L Gigabit Network Connection', 'Realtek USB GbE Family Controller']);
    const first = acc.find('net', { interface: 'Intel[R] 82574L Gigabit Network Connection' })[0]!.fields;
    expect(first).not.toHaveProperty('bytes_recv_rate'); // rates need a previous gather, as on Linux
    expect(first.speed).toBe(1000);
    expect(first.err_in).toBe(3);
    expect(first.drop_in).toBe(12);

    acc.points.length = 0;
    r.feed(1);
    await input.gather!(acc);
    const intel = acc.find('net', { interface: 'Intel[R] 82574L Gigabit Network Connection' })[0]!;
    // 40000 B/s sent for two rows: the first counts the nominal 10 s, the second the time
    // between the two rows' stamps (10 s give or take the capture's milliseconds).
    expect(intel.fields.bytes_sent).toBeGreaterThan(760_000);
    expect(intel.fields.bytes_sent).toBeLessThan(840_000);
    expect(intel.fields.bytes_sent_rate).toBeCloseTo(40_000, -1);
    expect(intel.fields.drop_in).toBe(13);
    expect(intel.fields.drop_in_rate).toBeGreaterThan(0.09);
    expect(intel.fields.drop_in_rate).toBeLessThan(0.11);
    expect(intel.int).toContain('bytes_recv');

    // Row 3 on: the USB adapter's values are blank (unplugged); it gets no point, and no error.
    acc.points.length = 0;
    r.feed(2);
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags.interface)).toEqual(['Intel[R] 82574L Gigabit Network Connection']);
    expect(acc.points[0]!.fields.bytes_sent).toBeGreaterThan(1_590_000);
    r.src.stop();
  });

  it('reports the adapters listed in `interfaces`, virtual or not', async () => {
    const r = replay('composed-server-en.csv');
    const input = net.create(net.config.parse({ interfaces: ['Teredo*', 'isatap*'] }), r.ctx);
    await r.started;
    r.feed(1);
    const acc = recorder();
    await input.gather!(acc);
    expect(acc.points.map((p) => p.tags.interface).sort()).toEqual(['Teredo Tunneling Pseudo-Interface', 'isatap.{8F3B2A4C-5D6E-4F70-8192-A3B4C5D6E7F8}']);
    // No bandwidth at all: -1, as Linux sends for a link without a speed.
    expect(acc.find('net', { interface: 'Teredo Tunneling Pseudo-Interface' })[0]!.fields.speed).toBe(-1);
    r.src.stop();
  });
});

describe('net on a Vietnamese Windows', () => {
  it('asks for the Vietnamese counter names and reads values written with a decimal comma', async () => {
    const r = replay('composed-vi-VN.csv', { names: 'composed-names-vi-VN.txt' });
    const input = net.create(net.config.parse({}), r.ctx);
    await r.started;
    expect(r.args()[0]).toBe('\\Giao diện Mạng(*)\\Byte Nhận được/giây');
    r.feed(2);
    const acc = recorder();
    await input.gather!(acc);
    const intel = acc.find('net', { interface: 'Intel[R] 82574L Gigabit Network Connection' })[0]!.fields;
    expect(intel.speed).toBe(1000);
    expect(intel.err_in).toBe(3);
    expect(intel.bytes_sent).toBeGreaterThan(760_000);
    r.src.stop();
  });
});

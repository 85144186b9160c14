// The status page's InfluxDB line with several targets (influx.targets): each target's
// state and backlog, a gap shown, names escaped.
import { describe, expect, it } from 'vitest';
import { renderStatus, type StatusData } from './render.ts';

const base: StatusData = { agents: [], events: [], influx: { up: true, queued: 0, spooled: 0, lastError: null }, timeZone: 'UTC' };

describe('status page: InfluxDB targets', () => {
  it('lists each target with its state, queue and spool, and a gap when there is one', () => {
    const html = renderStatus(
      'en',
      {
        ...base,
        influx: {
          ...base.influx,
          spooled: 3612,
          targets: [
            { name: 'influx-a', up: true, queued: 12, spooled: 0, lost: 0 },
            { name: 'influx-<b>', up: false, queued: 0, spooled: 3612, lost: 40 },
          ],
        },
      },
      'admin',
    );
    const list = /<ul class="influx-targets">(.*?)<\/ul>/s.exec(html)?.[1] ?? '';
    const items = list.split('</li>').filter(Boolean);
    expect(items).toHaveLength(2);
    expect(items[0]).toContain('influx-a');
    expect(items[0]).toContain('12 lines waiting');
    expect(items[0]).not.toContain('missed');
    expect(items[1]).toContain('influx-&#60;b&#62;');
    expect(items[1]).not.toContain('<b>');
    expect(items[1]).toContain('collector spool: 3612');
    expect(items[1]).toContain('lines missed (the other targets hold them): 40');
    expect(items[1]).toContain('class="offline"');
  });
  it('shows no list with one target', () => {
    expect(renderStatus('vi', base, 'admin')).not.toContain('influx-targets');
  });
});

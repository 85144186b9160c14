import { describe, expect, it } from 'vitest';
import { encodeBatch } from './identity.ts';

const id = { host: 'real-host', agency: 'so-tttt', site: 'dc' };

describe('encodeBatch', () => {
  it('the registry identity overrides tags the agent claims', () => {
    const { lines } = encodeBatch([{ name: 'cpu', time: 1, tags: { host: 'fake', agency: 'other', site: 'x', cpu: 'cpu0' }, fields: { v: 1 } }], [], id);
    expect(lines).toEqual(['cpu,agency=so-tttt,cpu=cpu0,host=real-host,site=dc v=1.0 1']);
  });
  it('stores events as security_event with evidence as fields', () => {
    const { lines } = encodeBatch(
      [],
      [{ time: 5, detector: 'auth_log', type: 'brute_force', severity: 'high', message: 'm', evidence: { src_ip: '203.0.113.7', count: 3 }, count: 9, mitre: 'T1110.001' }],
      id,
    );
    expect(lines).toEqual([
      'security_event,agency=so-tttt,detector=auth_log,host=real-host,mitre=T1110.001,severity=high,site=dc,type=brute_force message="m",count=9i,src_ip="203.0.113.7",evidence_count=3.0 5',
    ]);
  });
  it('spreads same-millisecond events of one type so none overwrites another', () => {
    const e = { time: 5, detector: 'd', type: 't', severity: 'low' as const, message: 'm', evidence: {}, count: 1 };
    const { lines } = encodeBatch([], [e, { ...e, message: 'n' }, { ...e, message: 'o' }], id);
    expect(lines.map((l) => l.split(' ').pop())).toEqual(['5', '6', '7']);
  });
  it('counts points with nothing writable as refused', () => {
    const r = encodeBatch([{ name: 'cpu', time: 1, tags: {}, fields: { v: Number.NaN } }], [], id);
    expect(r).toEqual({ lines: [], refused: 1 });
  });
});

// Issue 18, observations 3 and 6: zone-less log times are read in the host's zone unless the
// config names one, and failures are counted by when they happened, not when they were read.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import authLog from './index.ts';
import { hostTimeZone, type ZoneSources } from '../auth/host-zone.ts';
import { AuthPipeline } from './pipeline.ts';

const repo = resolve(import.meta.dirname, '../../../..');
const fail = (hhmmss: string, ip = '198.51.100.21', pid = 1) => `Dec  1 ${hhmmss} h sshd[${pid}]: Failed password for root from ${ip} port 4000 ssh2`;

describe('the host zone', () => {
  const src = (over: Partial<ZoneSources>): ZoneSources => ({
    env: {},
    readlink: () => {
      throw new Error('EINVAL');
    },
    readFile: () => {
      throw new Error('ENOENT');
    },
    runtimeZone: () => undefined,
    ...over,
  });

  it('TZ first, then the /etc/localtime link, then /etc/timezone, then the runtime, else UTC', () => {
    expect(hostTimeZone(src({ env: { TZ: 'Asia/Ho_Chi_Minh' }, readlink: () => '/usr/share/zoneinfo/Etc/UTC' }))).toEqual({
      zone: 'Asia/Ho_Chi_Minh',
      from: 'TZ',
    });
    expect(hostTimeZone(src({ env: { TZ: ':/usr/share/zoneinfo/Europe/Paris' } }))).toEqual({ zone: 'Europe/Paris', from: 'TZ' });
    expect(hostTimeZone(src({ readlink: () => '../usr/share/zoneinfo/Asia/Ho_Chi_Minh' }))).toEqual({ zone: 'Asia/Ho_Chi_Minh', from: '/etc/localtime' });
    expect(hostTimeZone(src({ readFile: () => 'Asia/Bangkok\n' }))).toEqual({ zone: 'Asia/Bangkok', from: '/etc/timezone' });
    expect(hostTimeZone(src({ runtimeZone: () => 'America/New_York' }))).toEqual({ zone: 'America/New_York', from: 'system' });
    expect(hostTimeZone(src({ env: { TZ: 'Not/AZone' }, runtimeZone: () => 'Etc/Unknown' }))).toEqual({ zone: 'UTC', from: 'default' });
  });

  // The real CLI in a child process, as an admin runs it on a UTC host and on a Vietnamese one.
  const detect = (env: Record<string, string>, ...set: string[]) => {
    const r = spawnSync(process.execPath, [join(repo, 'agent/src/cli.ts'), 'detect', 'auth_log', ...set.flatMap((s) => ['--set', s])], {
      input: `${fail('17:00:00')}\n`,
      encoding: 'utf8',
      env: { ...process.env, CANH_AGENT_CONFIG: '/nonexistent.yaml', ...env },
    });
    expect(r.stderr).toBe('');
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  it('detect on a UTC host reads syslog times as UTC and says so', () => {
    const out = detect({ TZ: 'UTC' });
    expect(out[0]).toEqual({ detector: 'auth_log', timezone: 'UTC', timezone_from: 'TZ', mode: 'normal' });
    expect((out[1]!.time as string).slice(5)).toBe('12-01T17:00:00.000Z');
  });

  it('detect on an Asia/Ho_Chi_Minh host reads them 7 h ahead of UTC; the config overrides the host', () => {
    const out = detect({ TZ: 'Asia/Ho_Chi_Minh' }, 'mode=aggressive');
    expect(out[0]).toEqual({ detector: 'auth_log', timezone: 'Asia/Ho_Chi_Minh', timezone_from: 'TZ', mode: 'aggressive' });
    expect((out[1]!.time as string).slice(5)).toBe('12-01T10:00:00.000Z');
    const cfg = detect({ TZ: 'UTC' }, 'timezone=Asia/Ho_Chi_Minh');
    expect(cfg[0]).toMatchObject({ timezone: 'Asia/Ho_Chi_Minh', timezone_from: 'config' });
  });

  // Observation 3's last part: off_hours_privileged_login must judge the hour the line says,
  // in the zone it was read in — a UTC host's 20:00 login is off hours, its 12:00 one is not.
  it.each(['UTC', 'Asia/Ho_Chi_Minh'])("off-hours logins are judged by the line's own clock on a %s host", (tz) => {
    const r = spawnSync(process.execPath, [join(repo, 'agent/src/cli.ts'), 'detect', 'auth_log'], {
      input: [
        'Dec  3 20:00:00 h sshd[5]: Accepted publickey for root from 192.0.2.10 port 4000 ssh2',
        'Dec  3 12:00:00 h sshd[6]: Accepted publickey for root from 192.0.2.11 port 4000 ssh2',
        '',
      ].join('\n'),
      encoding: 'utf8',
      env: { ...process.env, CANH_AGENT_CONFIG: '/nonexistent.yaml', TZ: tz },
    });
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event?: { type: string; evidence: Record<string, unknown>; message: string } })
      .flatMap((o) => (o.event ? [o.event] : []));
    expect(events.map((e) => [e.type, e.evidence.src_ip, e.evidence.local_time])).toEqual([['off_hours_privileged_login', '192.0.2.10', '20:00']]);
    expect(events[0]!.message).toContain(`at 20:00 (${tz})`);
  });
});

describe('counting by event time (a backlog read at once)', () => {
  // The agent was down; at 19:30 it reads what was written since 17:00.
  const readAt = Date.UTC(2024, 11, 1, 19, 30);
  const backlog = (lines: string[]) => {
    let now = readAt;
    const p = new AuthPipeline(authLog.config.parse({ timezone: 'UTC' }), () => now);
    const events = lines.flatMap((l, i) => {
      now = readAt + i; // read within milliseconds of each other
      return p.line(l, readAt).events;
    });
    now += 3_600_000;
    events.push(...p.tick());
    return events.filter((e) => e.type === 'brute_force');
  };

  it('five failures spread over 17:00-19:00 are not "5 within 10m"', () => {
    expect(backlog(['17:00:00', '17:30:00', '18:00:00', '18:30:00', '19:00:00'].map((t) => fail(t)))).toEqual([]);
  });

  it('five failures within 17:00-17:04 are a brute force dated when it happened', () => {
    const ev = backlog(['17:00:00', '17:01:00', '17:02:00', '17:03:00', '17:04:00'].map((t) => fail(t)));
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ count: 5, time: Date.UTC(2024, 11, 1, 17, 4), evidence: { src_ip: '198.51.100.21', service: 'ssh' } });
  });

  it('an attack in the backlog and one an hour later are two incidents, each dated by its lines', () => {
    const lines = [...['17:00:00', '17:00:10', '17:00:20', '17:00:30', '17:00:40'], ...['18:10:00', '18:10:10', '18:10:20', '18:10:30', '18:10:40']].map((t) =>
      fail(t),
    );
    const ev = backlog(lines).filter((e) => !e.evidence.update);
    expect(ev.map((e) => new Date(e.time).toISOString().slice(11, 19))).toEqual(['17:00:40', '18:10:40']);
  });
});

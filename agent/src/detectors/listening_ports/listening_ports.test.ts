import { afterEach, describe, expect, it } from 'vitest';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import def from './index.ts';
import { decodeAddress, KeptProcFile, noTcp6, parseProcNet, readTcpListeners, socketsInUse } from './parse.ts';
import { readmeExample, recorder, testContext, until } from '../testing.ts';
import { exec } from '../../context/exec.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');

describe('listening_ports parsing (captured /proc/net)', () => {
  it('decodes IPv4 and IPv6 addresses', () => {
    expect(decodeAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeAddress('00000000000000000000000000000000')).toBe('::');
    expect(decodeAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(decodeAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
    expect(decodeAddress('XYZ')).toBeUndefined();
  });

  it('keeps TCP LISTEN sockets only, not established or time-wait ones', () => {
    const { listeners, malformed } = parseProcNet(data('tcp.txt'), 'tcp');
    expect(malformed).toBe(0);
    expect(listeners.map((l) => `${l.address}:${l.port}`)).toEqual(['0.0.0.0:2024', '127.0.0.1:18443', '0.0.0.0:28180', '127.0.0.1:18086', '127.0.0.1:18088']);
    expect(parseProcNet(data('tcp6.txt'), 'tcp6').listeners.map((l) => `[${l.address}]:${l.port}/${l.inode}`)).toEqual([
      '[::1]:28544/17463',
      '[::]:28543/17462',
    ]);
  });

  it('keeps unconnected UDP sockets only', () => {
    expect(parseProcNet(data('udp.txt'), 'udp').listeners.map((l) => `${l.address}:${l.port}`)).toEqual(['127.0.0.1:25353']);
    expect(parseProcNet(data('udp6.txt'), 'udp6').listeners.map((l) => `[${l.address}]:${l.port}`)).toEqual(['[::]:25354']);
  });

  it('garbage gives a count of malformed lines, not a crash', () => {
    const r = parseProcNet(data('garbage.txt'), 'tcp');
    expect(r.listeners).toEqual([]);
    expect(r.malformed).toBeGreaterThan(0);
    expect(parseProcNet('', 'udp6')).toEqual({ listeners: [], malformed: 0 });
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ grace_intervals: 2 });
  });
});

describe('listening_ports on real sockets', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it("reports this process's TCP and UDP listeners on 127.0.0.1 and ::1 after the grace period, then their closing", async () => {
    const state = mkdtempSync(join(tmpdir(), 'canh-ports-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    const det = def.create(def.config.parse({ grace_intervals: 2 }), testContext(state));
    const { acc, events } = recorder();
    await det.gather!(acc); // baseline
    expect(events).toEqual([]);

    const tcp4 = net.createServer().listen(0, '127.0.0.1');
    const tcp6 = net.createServer().listen(0, '::1');
    const udp4 = dgram.createSocket('udp4');
    const udp6 = dgram.createSocket('udp6');
    await Promise.all([
      new Promise((r) => tcp4.on('listening', r)),
      new Promise((r) => tcp6.on('listening', r)),
      new Promise((r) => udp4.bind(0, '127.0.0.1', () => r(null))),
      new Promise((r) => udp6.bind(0, '::1', () => r(null))),
    ]);
    const ports = {
      tcp: (tcp4.address() as net.AddressInfo).port,
      tcp6: (tcp6.address() as net.AddressInfo).port,
      udp: udp4.address().port,
      udp6: udp6.address().port,
    };
    const mine = () => events.filter((e) => e.type === 'new_listening_port' && Object.values(ports).includes(Number(e.evidence!.port)));

    await det.gather!(acc);
    await det.gather!(acc);
    expect(mine()).toEqual([]); // still within the grace period
    await det.gather!(acc);
    const exe = readlinkSync('/proc/self/exe');
    expect(
      mine()
        .map((e) => `${e.evidence!.proto} ${e.evidence!.address} ${e.evidence!.port}`)
        .sort(),
    ).toEqual([`tcp 127.0.0.1 ${ports.tcp}`, `tcp6 ::1 ${ports.tcp6}`, `udp 127.0.0.1 ${ports.udp}`, `udp6 ::1 ${ports.udp6}`].sort());
    for (const e of mine()) {
      // The executable, not the thread name (/proc/self/comm of Node 24 reads "MainThread").
      expect(e.evidence).toMatchObject({ pid: process.pid, exe, exe_inode: statSync(exe).ino, process: exe.slice(exe.lastIndexOf('/') + 1), exposed: false });
      expect(e.message).toContain(`by ${exe} (pid ${process.pid})`);
      expect(e.severity).toBe('low');
    }

    // A restart with the persisted baseline reports nothing new.
    const again = def.create(def.config.parse({ grace_intervals: 2 }), testContext(state));
    const rec2 = recorder();
    for (let i = 0; i < 3; i++) await again.gather!(rec2.acc);
    expect(rec2.events.filter((e) => Object.values(ports).includes(Number(e.evidence!.port)))).toEqual([]);

    await new Promise((r) => tcp4.close(r));
    await new Promise((r) => tcp6.close(r));
    udp4.close();
    udp6.close();
    events.length = 0;
    for (let i = 0; i < 3; i++) await det.gather!(acc);
    expect(
      events
        .filter((e) => e.type === 'listening_port_closed' && Object.values(ports).includes(Number(e.evidence!.port)))
        .map((e) => e.evidence!.proto)
        .sort(),
    ).toEqual(['tcp', 'tcp6', 'udp', 'udp6']);
  });
});

describe('listening_ports: the cost of short-lived listeners', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));
  it("a listener gone within the grace period never costs a walk of every process's descriptors", async () => {
    const state = mkdtempSync(join(tmpdir(), 'canh-ports-walk-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    let walks = 0;
    const base = testContext(state);
    const ctx = testContext(state, {
      readdir: async (p: string) => {
        if (p === base.procRoot) walks++;
        return base.readdir(p);
      },
    });
    // Three gathers within a grace of five: no socket, ours or another process's, can
    // outlive it here, so no walk may happen (before, every new socket cost one at once).
    const det = def.create(def.config.parse({ grace_intervals: 5 }), ctx);
    const { acc, events } = recorder();
    await det.gather!(acc); // baseline: owners of what listens now are looked for
    walks = 0;
    const srv = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => srv.on('listening', r));
    const port = (srv.address() as net.AddressInfo).port;
    await det.gather!(acc);
    await det.gather!(acc);
    await new Promise((r) => srv.close(r));
    await det.gather!(acc);
    expect(walks).toBe(0);
    expect(events.filter((e) => Number(e.evidence!.port) === port)).toEqual([]);
  });
});

describe('listening_ports: another program behind a known port (real sockets, real processes)', () => {
  const procs: ChildProcess[] = [];
  let dir: string;
  afterEach(() => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A python listening on 127.0.0.1:port; resolves once /proc/net/tcp shows the socket. */
  const listen = async (python: string, port: number) => {
    // The one killed before it must have let the port go (a SIGKILL is not instant on a busy
    // machine): its listener would pass for this one's, which then fails to bind.
    const shown = () => {
      const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
      return readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .some((l) => l.includes(hex) && l.trim().split(/\s+/)[3] === '0A');
    };
    expect(await until(() => !shown(), 10_000)).toBe(true);
    const code = `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',${port}))\ns.listen()\ntime.sleep(300)\n`;
    const p = spawn(python, ['-c', code], { stdio: 'ignore' });
    procs.push(p);
    const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    expect(
      await until(
        () =>
          readFileSync('/proc/net/tcp', 'utf8')
            .split('\n')
            .some((l) => l.includes(hex) && l.split(/\s+/)[4] === '0A'),
        10_000,
      ),
    ).toBe(true);
    return p;
  };

  it('python3 on a port replaced by a copy of python3 at another path: listening_port_program_changed, high', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-ports-prog-'));
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const det = def.create(def.config.parse({ grace_intervals: 1 }), testContext(join(dir, 'state')));
    const { acc, events } = recorder();
    const real = realpathSync('/usr/bin/python3');
    const first = await listen('/usr/bin/python3', port);
    await det.gather!(acc); // baseline holds python3 on the port
    const mine = () => events.filter((e) => Number(e.evidence!.port) === port);
    expect(mine()).toEqual([]);

    first.kill('SIGKILL');
    mkdirSync(join(dir, 'evil'));
    copyFileSync(real, join(dir, 'evil/python3'));
    const evil = await listen(join(dir, 'evil/python3'), port);
    await det.gather!(acc);
    expect(mine()).toEqual([]); // within the grace period
    await det.gather!(acc);
    expect(mine()).toEqual([
      expect.objectContaining({
        type: 'listening_port_program_changed',
        severity: 'high',
        evidence: expect.objectContaining({
          proto: 'tcp',
          address: '127.0.0.1',
          port,
          exe: join(dir, 'evil/python3'),
          exe_inode: statSync(join(dir, 'evil/python3')).ino,
          old_exe: real,
          old_exe_inode: statSync(real).ino,
          pid: evil.pid,
        }),
      }),
    ]);
    // Neither a "new port" nor a "closed" one; and the next gathers stay quiet.
    await det.gather!(acc);
    await det.gather!(acc);
    expect(mine()).toHaveLength(1);

    // The same path, another file (replaced in place, or upgraded): medium.
    evil.kill('SIGKILL');
    const oldInode = statSync(join(dir, 'evil/python3')).ino;
    // Copied beside it, then renamed over it: the new inode is taken while the old one lives.
    copyFileSync(real, join(dir, 'evil/python3.new'));
    renameSync(join(dir, 'evil/python3.new'), join(dir, 'evil/python3'));
    expect(statSync(join(dir, 'evil/python3')).ino).not.toBe(oldInode);
    await listen(join(dir, 'evil/python3'), port);
    events.length = 0;
    for (let i = 0; i < 3; i++) await det.gather!(acc);
    expect(mine()).toEqual([
      expect.objectContaining({
        type: 'listening_port_program_changed',
        severity: 'medium',
        evidence: expect.objectContaining({ exe: join(dir, 'evil/python3'), old_exe: join(dir, 'evil/python3'), old_exe_inode: oldInode }),
      }),
    ]);
  });
});

describe('listening_ports: reading only the listening head of /proc/net/tcp', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('finds every listener a full read finds, with established connections of ours in the file', async () => {
    const srv = net.createServer((c) => cleanup.push(() => c.destroy())).listen(0, '127.0.0.1');
    const srv6 = net.createServer((c) => cleanup.push(() => c.destroy())).listen(0, '::1');
    await Promise.all([new Promise((r) => srv.on('listening', r)), new Promise((r) => srv6.on('listening', r))]);
    cleanup.push(
      () => srv.close(),
      () => srv6.close(),
    );
    const clients: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      clients.push(net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1'), net.connect((srv6.address() as net.AddressInfo).port, '::1'));
    }
    await Promise.all(clients.map((c) => new Promise((r) => c.on('connect', r))));
    cleanup.push(() => clients.forEach((c) => c.destroy()));
    // A TCPv6 listener exists: sockstat6 must not let tcp6 be skipped.
    expect(noTcp6(readFileSync('/proc/net/sockstat6', 'latin1'))).toBe(false);
    expect([noTcp6('TCP6: inuse 0\nUDP6: inuse 3\n'), noTcp6('TCP6: inuse 10\n'), noTcp6('')]).toEqual([true, false, false]);
    for (const proto of ['tcp', 'tcp6'] as const) {
      const full = readFileSync(`/proc/net/${proto}`, 'latin1');
      // Ours are there: established lines (01) as well as the listener.
      expect(full.split('\n').filter((l) => l.trim().split(/\s+/)[3] === '01').length).toBeGreaterThanOrEqual(40 / 2);
      const head = readTcpListeners(`/proc/net/${proto}`);
      const after = readFileSync(`/proc/net/${proto}`, 'latin1');
      const key = (l: { address: string; port: number; inode: number }) => `${l.address}:${l.port}/${l.inode}`;
      // Other processes on this machine open and close listeners meanwhile: the head lists
      // nothing that neither full read lists, and everything both list.
      const before = parseProcNet(full, proto).listeners.map(key);
      const later = parseProcNet(after, proto).listeners.map(key);
      const fromHead = parseProcNet(head, proto).listeners.map(key);
      expect(fromHead.filter((k) => !before.includes(k) && !later.includes(k))).toEqual([]);
      expect(before.filter((k) => later.includes(k) && !fromHead.includes(k))).toEqual([]);
      const port = ((proto === 'tcp' ? srv : srv6).address() as net.AddressInfo).port;
      expect(parseProcNet(head, proto).listeners.some((l) => l.port === port)).toBe(true);
    }
  });

  it('sockstat counts a bound UDP socket and a TCP listener (a table of a protocol counted 0 is not read)', async () => {
    const read = () => socketsInUse(readFileSync('/proc/net/sockstat', 'latin1') + readFileSync('/proc/net/sockstat6', 'latin1'));
    const udp6 = dgram.createSocket('udp6');
    const srv6 = net.createServer().listen(0, '::1');
    await Promise.all([new Promise((r) => udp6.bind(0, '::1', () => r(null))), new Promise((r) => srv6.on('listening', r))]);
    cleanup.push(
      () => udp6.close(),
      () => srv6.close(),
    );
    const now = read();
    expect(now.udp6).toBeGreaterThanOrEqual(1);
    expect(now.tcp6).toBeGreaterThanOrEqual(1);
    expect(Object.keys(now).sort()).toEqual(['tcp', 'tcp6', 'udp', 'udp6']);
    expect(socketsInUse('TCP: inuse 0 orphan 0 tw 3 alloc 1 mem 1\nUDP: inuse 2 mem 0\nUDPLITE: inuse 0\nTCP6: inuse 7\nUDP6: inuse \n')).toEqual({
      tcp: 0,
      udp: 2,
      tcp6: 7,
    });
    expect(socketsInUse('garbage\nTCP: inuse x\n')).toEqual({});
  });

  it('a kept file is read whole from its start each time: one read when it fits, on to the end when not; missing: empty, then found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-ports-kept-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = new KeptProcFile(join(dir, 'f'));
    cleanup.push(() => f.close());
    expect(f.read()).toBe('');
    writeFileSync(join(dir, 'f'), 'UDP: inuse 1\n');
    expect(f.read()).toBe('UDP: inuse 1\n');
    const long = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(80)}`).join('\n');
    writeFileSync(join(dir, 'f'), long);
    expect(f.read()).toBe(long);
    expect(new KeptProcFile('/proc/net/sockstat').read()).toMatch(/^sockets: used \d+\nTCP: inuse \d+/);
  });

  it('stops at the first line of another state than LISTEN or SYN_RECV (the kernel lists listeners first)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-ports-head-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const lines = data('tcp.txt').split('\n');
    const row = (sl: number, port: number, st: string, inode: number) =>
      `  ${sl}: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
    // Listener, a pending request of a pre-4.4 kernel, listener, then the connection table.
    const text = [lines[0], row(0, 1001, '0A', 11), row(1, 1001, '03', 0), row(2, 1002, '0A', 12), row(3, 1001, '01', 13), row(4, 1003, '0A', 14), ''].join(
      '\n',
    );
    writeFileSync(join(dir, 'tcp'), text);
    expect(parseProcNet(readTcpListeners(join(dir, 'tcp')), 'tcp').listeners.map((l) => l.port)).toEqual([1001, 1002]);
    // No connection at all: the whole file; unreadable: nothing.
    writeFileSync(join(dir, 'tcp'), [lines[0], row(0, 1001, '0A', 11), ''].join('\n'));
    expect(parseProcNet(readTcpListeners(join(dir, 'tcp')), 'tcp').listeners.map((l) => l.port)).toEqual([1001]);
    expect(readTcpListeners(join(dir, 'missing'))).toBe('');
  });
});

// The tables are read only when something says they may have changed (watch.ts mustRead).
// In a network namespace of its own the socket counts are this test's alone: a program
// swapped behind a port leaves them as they were, and so does a new listener opened as an
// unseen one closes. The detector sees the namespace's tables through a procfs of its own: a
// folder whose `net` is the namespace's (/proc/<pid>/net of a process in it) and whose pid
// entries are the processes it may inspect.
describe('listening_ports: reading the tables only when they may have changed (a network namespace)', () => {
  const ns = `canh-lp-${process.pid % 100000}`;
  const procs: ChildProcess[] = [];
  let dir: string;
  afterEach(async () => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    await exec('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  /** A python in the namespace listening on 127.0.0.1:port (shown to the detector when `visible`). */
  const listen = async (python: string, port: number, visible: boolean) => {
    const code = `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',${port}))\ns.listen()\ntime.sleep(300)\n`;
    const p = spawn('ip', ['netns', 'exec', ns, python, '-c', code], { stdio: 'ignore' });
    procs.push(p);
    const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const shown = () => {
      try {
        return readFileSync(`/proc/${p.pid}/net/tcp`, 'utf8')
          .split('\n')
          .some((l) => l.includes(hex) && l.trim().split(/\s+/)[3] === '0A');
      } catch {
        return false;
      }
    };
    expect(await until(shown, 10_000)).toBe(true);
    if (visible) symlinkSync(`/proc/${p.pid}`, join(dir, 'proc', String(p.pid)));
    return p;
  };
  // TCP sockets in use in the namespace (sockstat's other counts are the host's).
  const readlinkOr = (p: string) => {
    try {
      return readlinkSync(p);
    } catch {
      return undefined;
    }
  };
  const inUse = () => socketsInUse(readFileSync(join(dir, 'proc/net/sockstat'), 'utf8')).tcp;

  it('a program swapped behind a known port (counts unchanged) is read at the next gather; a new listener whose count an unseen closing made up, within six', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-ports-ns-'));
    mkdirSync(join(dir, 'proc'));
    await exec('ip', ['netns', 'add', ns], { timeoutMs: 10_000 });
    await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
    const real = realpathSync('/usr/bin/python3');
    mkdirSync(join(dir, 'evil'));
    copyFileSync(real, join(dir, 'evil/python3'));
    // The namespace's `net`, through a process that lives in it for the whole test.
    const holder = spawn('ip', ['netns', 'exec', ns, 'sleep', '300'], { stdio: 'ignore' });
    procs.push(holder);
    const ours = readlinkSync('/proc/self/ns/net');
    expect(await until(() => (readlinkOr(`/proc/${holder.pid}/ns/net`) ?? ours) !== ours, 10_000)).toBe(true);
    symlinkSync(`/proc/${holder.pid}/net`, join(dir, 'proc/net'));
    const first = await listen(real, 8081, true);
    const hidden = await listen(real, 8082, false);
    const det = def.create(def.config.parse({ grace_intervals: 1 }), testContext(join(dir, 'state'), { procRoot: join(dir, 'proc') }));
    const { acc, events } = recorder();
    await det.gather!(acc); // baseline: 8081 by python3, 8082 by an unknown process
    expect(events).toEqual([]);

    // The program behind 8081 swapped: one listener closed, one opened, the same counts.
    const before = inUse();
    first.kill('SIGKILL');
    await until(() => !readFileSync(join(dir, 'proc/net/tcp'), 'utf8').includes('0100007F:1F91 00000000:0000 0A'), 10_000);
    const evil = await listen(join(dir, 'evil/python3'), 8081, true);
    expect(inUse()).toBe(before);
    await det.gather!(acc);
    await det.gather!(acc);
    expect(events.map((e) => `${e.type} ${e.evidence!.port} ${e.evidence!.exe}`)).toEqual([`listening_port_program_changed 8081 ${join(dir, 'evil/python3')}`]);
    expect(events[0]!.evidence).toMatchObject({ pid: evil.pid, old_exe: real });

    // 8082's unseen owner goes and a listener on 8083 comes: the counts again as they were,
    // and no known owner to look at. Not read at once (that is the saving), but within six gathers.
    events.length = 0;
    const counts = inUse();
    hidden.kill('SIGKILL');
    await until(() => !readFileSync(join(dir, 'proc/net/tcp'), 'utf8').includes('0100007F:1F92 00000000:0000 0A'), 10_000);
    await listen(real, 8083, true);
    expect(inUse()).toBe(counts);
    // Read at once, 8083 would be reported at the second gather (grace_intervals 1).
    for (let i = 0; i < 2; i++) await det.gather!(acc);
    expect(events).toEqual([]);
    for (let i = 0; i < 6; i++) await det.gather!(acc);
    expect(events.map((e) => `${e.type} ${e.evidence!.port}`).sort()).toEqual(['listening_port_closed 8082', 'new_listening_port 8083']);
  });
});

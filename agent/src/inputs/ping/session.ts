// One target's iputils `ping` kept running between gathers (`ping -i <interval>`), so a
// gather starts no process: a spawn per gather cost ~3 ms of the agent's CPU (fork of a
// large process, pipes, streams) plus ~2 ms in ping itself, ten times what the rest of
// a gather costs. Like collectd's ping plugin, echoes go out on their own clock and each
// gather reports the echoes of its interval; the fields are those a `ping -c 1` per
// gather gives (Telegraf's), with the same meaning.
//
// Timing: the session starts after a gather (sessionStartDelay), so each echo leaves
// inside an interval and its fate (reply, ICMP error, or nothing within `timeout`) is
// known before the next gather. Echoes are counted by the clock (ping
// sends one per interval from the time it printed its header), corrected by what ping
// prints with -D timestamps: replies, and -O's "no answer yet" when the next echo
// leaves. When ping's clock drifts out of the span an echo must leave in, or ping ends,
// the session is restarted (at most once per interval); the first session is also
// replaced as soon as its echoes' period shows it would drift out (gathersLeftInStep), so
// the -i correction comes with the agent's start-up.
import type { LongProcess } from '../types.ts';
import { parsePing, type PingOutput } from './parse.ts';

/** ping prints icmp_seq modulo 2^16. */
const SEQ_MOD = 65536;
const MAX_TEXT = 16 * 1024;

export interface SessionOptions {
  cmd: string;
  /** Everything after the command, target included. */
  args: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  start: (
    cmd: string,
    args: readonly string[],
    onLine: (line: string, stream: 'stdout' | 'stderr') => void,
    onExit: (code: number | null, signal: string | null, error?: string) => void,
    opts?: { readOnDemand?: boolean },
  ) => LongProcess;
  now: () => number;
}

interface Echo {
  rtt?: number;
  ttl?: number;
  error?: string;
}

export interface SessionReport {
  output: PingOutput;
  /** Exit code to judge the output by, as for one `ping -c N` run. */
  code: number | null;
  /** The process has ended (it is restarted by the caller). */
  ended: boolean;
}

const STAMP = /^\[(\d+)\.(\d+)\] /;
const REPLY = /icmp_seq=(\d+) (?:ttl|hlim)=(\d+) time=(\d+(?:\.\d+)?) ms(.*)$/;
const NO_ANSWER = /no answer yet for icmp_seq=(\d+)/;
const ICMP_ERROR = /^From \S+ icmp_seq=(\d+) /;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** How far from either end of its span an echo must stay to be in step (ms). */
const stepMargin = (intervalMs: number) => intervalMs / 8;

/**
 * How long after a gather to start a kept ping (ms). Its echoes must leave between
 * `margin` after a gather and `timeout + margin` before the next one (inStep).
 * A session whose `-i` is the interval itself (the first, before any correction) starts
 * just inside the early edge: iputils never sends early, since the kernel rounds its
 * waits up (`-i 10` sent every 10.24 s here: a 10 s receive timeout rounded up to the
 * timer wheel's 256 ms steps), so its echoes only creep later, and from there they have
 * the whole span to creep through (~24 intervals instead of ~12 from the middle). A
 * corrected session may drift either way by a little, and starts in the middle.
 */
export function sessionStartDelay(intervalMs: number, timeoutMs: number, corrected: boolean): number {
  const margin = stepMargin(intervalMs);
  return corrected ? (intervalMs - timeoutMs) / 2 : margin + intervalMs / 16;
}

/**
 * When to start a kept ping after a gather at `gatherAt` (ms, wall clock): its tick plus
 * sessionStartDelay. With aligned gathers (round_interval) the tick is the interval
 * boundary nearest the gather: the first gather runs at start-up, less than half an
 * interval after one, and a timer may fire a millisecond before its boundary. A time
 * already past means at once, which is still inside the span.
 */
export function sessionStartAt(gatherAt: number, o: { intervalMs: number; timeoutMs: number; corrected: boolean; aligned: boolean }): number {
  const tick = o.aligned ? Math.round(gatherAt / o.intervalMs) * o.intervalMs : gatherAt;
  return tick + sessionStartDelay(o.intervalMs, o.timeoutMs, o.corrected);
}

export class PingSession {
  private proc: LongProcess | undefined;
  /** Wall-clock estimate of when ping sent icmp_seq 1 (ms). */
  private t0 = 0;
  /** Echoes (full sequence numbers) already reported. */
  private reported = 0;
  private readonly echoes = new Map<number, Echo>();
  private exit: { code: number | null; at: number } | undefined;
  /** What ping printed besides echo lines (header, errors), for failures and the log. */
  private text = '';
  private stopped = false;
  /** The first and the latest reply: full sequence number and when its echo left (ms). */
  private firstSent: { seq: number; at: number } | undefined;
  private lastSent: { seq: number; at: number } | undefined;
  private readonly o: SessionOptions;

  constructor(opts: SessionOptions) {
    this.o = opts;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get ended(): boolean {
    return this.exit !== undefined;
  }

  start(): void {
    this.t0 = this.o.now();
    this.proc = this.o.start(
      this.o.cmd,
      this.o.args,
      (line) => this.onLine(line),
      (code, _signal, error) => {
        if (error) this.keepText(error);
        this.exit ??= { code, at: this.o.now() };
      },
      // ping's lines are needed at gathers only: read then, not as each one arrives
      // (that woke the agent in the middle of every interval).
      { readOnDemand: true },
    );
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.proc?.kill();
  }

  /** Echoes sent by time t (ping sends icmp_seq 1 at t0, then one per interval). */
  private sentBy(t: number): number {
    return t < this.t0 ? 0 : Math.floor((t - this.t0) / this.o.intervalMs) + 1;
  }

  /** The full sequence number of a printed one: the candidate nearest to what is due. */
  private full(seq: number, at: number): number {
    const due = this.sentBy(at);
    return seq + SEQ_MOD * Math.round((due - seq) / SEQ_MOD);
  }

  private keepText(line: string): void {
    if (this.text.length < MAX_TEXT) this.text += `${line}\n`;
  }

  private onLine(raw: string): void {
    const now = this.o.now();
    const stamp = STAMP.exec(raw);
    const at = stamp ? Number(stamp[1]) * 1000 + Number(`0.${stamp[2]}`) * 1000 : now;
    const line = stamp ? raw.slice(stamp[0].length) : raw;
    const reply = REPLY.exec(line);
    if (reply) {
      if (reply[4]?.includes('DUP!')) return;
      const rtt = Number(reply[3]);
      const seq = this.full(Number(reply[1]), at);
      if (seq <= this.reported) return;
      this.echoes.set(seq, { rtt, ttl: Number(reply[2]) });
      const sent = { seq, at: at - rtt };
      this.firstSent ??= sent;
      this.lastSent = sent;
      // The reply says when its echo left: keep the clock estimate on ping's own.
      this.t0 = at - rtt - (seq - 1) * this.o.intervalMs;
      return;
    }
    const none = NO_ANSWER.exec(line);
    if (none) {
      // Printed as echo seq+1 leaves.
      const seq = this.full(Number(none[1]), at - this.o.intervalMs);
      this.t0 = at - seq * this.o.intervalMs;
      return;
    }
    const icmp = ICMP_ERROR.exec(line);
    if (icmp) {
      const seq = this.full(Number(icmp[1]), at);
      if (seq > this.reported && this.echoes.get(seq)?.rtt === undefined) this.echoes.set(seq, { error: line.trim() });
      return;
    }
    // The header is printed after the name resolved, just before echo 1 leaves; when the
    // output is read at a gather, long after, start() already set the clock (the first
    // echo line corrects it by its -D time).
    if (/^PING /.test(line) && this.reported === 0 && this.echoes.size === 0 && !this.proc?.readOutput) this.t0 = now;
    this.keepText(line);
  }

  /**
   * How far apart ping really sent its echoes, from the replies' times (ms), once it has
   * sent a few. iputils' `-i` overshoots: -i 10 sends every ~10.24 s here, so the echoes
   * creep towards the gathers and the session had to be restarted every ~15 intervals.
   */
  observedPeriod(minPeriods = 3): number | undefined {
    const a = this.firstSent;
    const b = this.lastSent;
    if (!a || !b || b.seq - a.seq < minPeriods) return undefined;
    return (b.at - a.at) / (b.seq - a.seq);
  }

  /**
   * How many more gathers the echoes stay in step (inStep) at the period they have kept
   * so far (observedPeriod over at least `minPeriods`); Infinity while that is not known
   * or when they do not drift.
   */
  gathersLeftInStep(at: number, minPeriods = 3): number {
    const period = this.observedPeriod(minPeriods);
    if (period === undefined || this.exit || at < this.t0) return Number.POSITIVE_INFINITY;
    const drift = period - this.o.intervalMs;
    const since = (at - this.t0) % this.o.intervalMs;
    const margin = stepMargin(this.o.intervalMs);
    // Late echoes come ever closer to the next gather; early ones to the last.
    if (drift > 0) return Math.max(0, Math.floor((since - this.o.timeoutMs - margin) / drift));
    if (drift < 0) return Math.max(0, Math.floor((this.o.intervalMs - margin - since) / -drift));
    return Number.POSITIVE_INFINITY;
  }

  /**
   * Whether the echoes still leave well inside the interval that ends at a gather at
   * `at`: at least `timeout` plus a margin before it, and a margin after the last one.
   */
  inStep(at: number): boolean {
    if (this.exit || at < this.t0) return !this.exit;
    const since = (at - this.t0) % this.o.intervalMs;
    const margin = stepMargin(this.o.intervalMs);
    return since >= this.o.timeoutMs + margin && since <= this.o.intervalMs - margin;
  }

  /** What happened since the last report: the echoes whose fate is known by `at`. */
  report(at: number): SessionReport {
    this.proc?.readOutput?.();
    // An echo is final once its reply time is over, or when ping has ended.
    let upTo = this.exit ? this.sentBy(Math.min(at, this.exit.at)) : this.sentBy(at - this.o.timeoutMs);
    for (const seq of this.echoes.keys()) if (seq > upTo && seq <= this.sentBy(at)) upTo = seq;
    const rtts: number[] = [];
    let ttl: number | undefined;
    let error: string | undefined;
    for (let seq = this.reported + 1; seq <= upTo; seq++) {
      const e = this.echoes.get(seq);
      this.echoes.delete(seq);
      if (e?.rtt !== undefined && e.rtt <= this.o.timeoutMs) {
        rtts.push(e.rtt);
        ttl ??= e.ttl;
      } else if (e?.error) error ??= e.error;
    }
    const transmitted = Math.max(0, upTo - this.reported);
    this.reported = Math.max(this.reported, upTo);
    if (transmitted === 0 && this.exit) {
      // Ended before sending anything (name not resolved, no route...): its own words.
      return { output: parsePing(this.text), code: this.exit.code, ended: true };
    }
    const output: PingOutput = { format: 'iputils', transmitted, received: rtts.length, rtts, dnsError: false };
    if (ttl !== undefined) output.ttl = ttl;
    if (rtts.length) {
      // As iputils' summary line: min/avg/max/mdev to the microsecond.
      const n = rtts.length;
      const sum = rtts.reduce((a, b) => a + b, 0);
      const sum2 = rtts.reduce((a, b) => a + b * b, 0);
      const avg = sum / n;
      output.min = round3(Math.min(...rtts));
      output.max = round3(Math.max(...rtts));
      output.avg = round3(avg);
      output.stddev = round3(Math.sqrt(Math.max(0, sum2 / n - avg * avg)));
    }
    const lastWords = this.exit ? this.text.trim().split('\n').at(-1) : undefined;
    if (error ?? lastWords) output.error = error ?? lastWords;
    // iputils exits 0 with replies, 1 without.
    return { output, code: rtts.length ? 0 : 1, ended: this.exit !== undefined };
  }
}

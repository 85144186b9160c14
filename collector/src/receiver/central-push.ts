// Central configuration over the agent connection: the config in the welcome when the
// agent's differs, a push to connected agents when a new version is stored (by the CLI,
// another process), and the agent's config_result recorded.
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { encode, type ConfigResult, type Hello } from '@canh/protocol';
import type { ConfigVersion } from '../central/store.ts';
import type { Conn, Receiver } from './types.ts';

/** The central config to send with the welcome, when the agent's version differs. */
export function centralForHello(r: Receiver, conn: Conn, hello: Hello): ConfigVersion | undefined {
  const central = r.central?.resolve(conn.agent);
  return central && central.version !== hello.config_version ? central : undefined;
}

/** The agent applied or refused a central config. */
export function recordConfigResult(r: Receiver, conn: Conn, msg: ConfigResult, log: Logger): void {
  r.central?.recordResult(conn.agent.id, msg.version, msg.errors);
  if (msg.errors.length) log.warn({ version: msg.version, errors: msg.errors }, 'agent refused central config; it keeps its previous one');
  else log.info({ version: msg.version }, 'agent applied central config');
}

/** Watches the store's latest central config version and pushes a new one to every agent it resolves differently for. */
export class CentralPush {
  private seen = 0;
  private readonly r: Receiver;

  constructor(r: Receiver) {
    this.r = r;
  }

  /** The version stored at start: agents get it in their welcome. */
  start(): void {
    this.seen = this.r.central?.latestVersion() ?? 0;
  }

  /** A new central config version was pushed (by the CLI, another process): send it. */
  check(): void {
    const { central, conns, log } = this.r;
    if (!central) return;
    const latest = central.latestVersion();
    if (latest === this.seen) return;
    this.seen = latest;
    for (const c of conns.values()) {
      if (!c.hello || c.ws.readyState !== WebSocket.OPEN) continue;
      const cfg = central.resolve(c.agent);
      if (!cfg || cfg.version === c.configVersion) continue;
      c.configVersion = cfg.version;
      c.ws.send(encode({ type: 'config', version: cfg.version, config: cfg.config }));
      log.info({ agent: c.agent.name, version: cfg.version }, 'central config pushed');
    }
  }
}

// The `snmp_trap` input: a UDP listener for SNMP notifications (v1/v2c by community,
// v3 by user). Link, restart and authentication-failure traps become events; any other
// trap becomes a bounded `snmp_trap` point. Traps from unknown communities or users are
// dropped and counted, never stored.
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import snmp, { type Notification, type Receiver } from 'net-snmp';
import { z } from 'zod';
import { CanhError } from '@canh/core';
import { defineInput, type Accumulator } from '../types.ts';
import { interpret } from './parse.ts';

const secret = z.string().min(8, 'SNMPv3 pass phrases are at least 8 characters');

const User = z
  .object({
    user: z.string().min(1),
    security_level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
    auth_protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
    auth_key: secret.optional(),
    priv_protocol: z.enum(['aes', 'aes256', 'aes256c', 'des']).default('aes'),
    priv_key: secret.optional(),
  })
  .strict()
  .superRefine((u, ctx) => {
    if (u.security_level !== 'noAuthNoPriv' && !u.auth_key)
      ctx.addIssue({ code: 'custom', path: ['auth_key'], message: `security_level ${u.security_level} needs auth_key` });
    if (u.security_level === 'authPriv' && !u.priv_key) ctx.addIssue({ code: 'custom', path: ['priv_key'], message: 'security_level authPriv needs priv_key' });
  });

type SnmpTrapConfig = { communities: string[]; users: z.infer<typeof User>[] };

const PRIV = { des: 'des', aes: 'aes', aes256: 'aes256b', aes256c: 'aes256r' } as const;

export default defineInput({
  name: 'snmp_trap',
  description: 'Receives SNMP traps and informs (v1/v2c/v3): link, restart and auth-failure traps as events, others as points',
  config: z
    .object({
      /** Address to listen on; "::" for IPv6. */
      address: z.string().min(1).default('0.0.0.0'),
      /** Port 162 needs root or CAP_NET_BIND_SERVICE. */
      port: z.number().int().min(1).max(65535).default(162),
      /** v1/v2c communities accepted. */
      communities: z.array(z.string().min(1)).default([]),
      /** SNMPv3 users accepted. */
      users: z.array(User).default([]),
      /** Varbinds kept per `snmp_trap` point; the rest is counted in varbinds_dropped. */
      max_varbinds: z.number().int().min(1).max(256).default(32),
      /** Longest string value kept per varbind. */
      max_value_length: z.number().int().min(16).max(65_536).default(1024),
    })
    .strict()
    .refine((c) => c.communities.length > 0 || c.users.length > 0, 'list at least one community or user: traps from anyone else are dropped'),
  create(config, ctx) {
    let receiver: Receiver | undefined;
    let stopped = false;
    let unauthorized = 0;
    const warnedSources = new Set<string>();

    const onTrap = (acc: Accumulator, n: Notification) => {
      const out = interpret(notificationOf(n), { maxVarbinds: config.max_varbinds, maxValueLength: config.max_value_length });
      if (out.kind === 'event')
        acc.addEvent({ type: out.type, severity: out.severity, message: out.message, evidence: out.evidence, ...(out.mitre ? { mitre: out.mitre } : {}) });
      else acc.addPoint('snmp_trap', out.tags, out.fields, { int: out.int, time: ctx.now() });
    };

    return {
      start(acc) {
        return new Promise<void>((resolve, reject) => {
          const bind = boundSocket(config, resolve, reject);
          receiver = snmp.createReceiver(
            {
              port: config.port,
              address: config.address,
              transport: config.address.includes(':') ? 'udp6' : 'udp4',
              includeAuthentication: true,
              dgramModule: bind.dgramModule,
            },
            (err, notification) => {
              if (stopped) return;
              if (err || !notification) {
                // Wrong community/user, undecodable packets: count, and say so once per source.
                // Only the error's class is logged: its message names the community tried.
                unauthorized++;
                const src = (err as { rinfo?: { address?: string } } | null)?.rinfo?.address ?? 'unknown';
                if (bind.ready() && !warnedSources.has(src) && warnedSources.size < 1000) {
                  warnedSources.add(src);
                  ctx.log.warn(
                    { source: src, dropped: unauthorized, reason: err?.name },
                    'dropped an SNMP notification (unknown community or user, or not SNMP)',
                  );
                }
                return;
              }
              try {
                onTrap(acc, notification);
              } catch (e) {
                ctx.log.error({ err: e, source: notification.rinfo.address }, 'could not record an SNMP trap');
              }
            },
          );
          authorize(receiver, config);
        });
      },
      stop() {
        if (stopped) return;
        stopped = true;
        return new Promise<void>((resolve) => {
          if (!receiver) return resolve();
          try {
            receiver.close(() => resolve());
          } catch {
            resolve();
          }
        });
      },
    };
  },
});

/** The fields `interpret` reads from a received notification. */
function notificationOf(n: Notification): Parameters<typeof interpret>[0] {
  return {
    source: n.rinfo.address,
    version: n.pdu.community !== undefined ? (n.pdu.type === snmp.PduType.Trap ? '1' : '2c') : n.pdu.user !== undefined ? '3' : 'unknown',
    pduType: n.pdu.type,
    varbinds: n.pdu.varbinds ?? [],
    enterprise: n.pdu.enterprise,
    agentAddr: n.pdu.agentAddr,
    generic: n.pdu.generic,
    specific: n.pdu.specific,
  };
}

/**
 * net-snmp binds without telling us whether it worked; this socket factory lets start()
 * wait for 'listening' and turns a bind error into a clear, coded one.
 */
function boundSocket(config: { address: string; port: number }, resolve: () => void, reject: (e: Error) => void) {
  let socketReady = false;
  const dgramModule = {
    createSocket(type: SocketType) {
      const socket: Socket = createSocket(type);
      socket.once('listening', () => resolve());
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (socketReady) return;
        reject(
          new CanhError(
            'CANH_ERR_SNMP_TRAP_BIND',
            `snmp_trap cannot listen on ${config.address}:${config.port} (${err.code ?? err.message}): ` +
              (err.code === 'EACCES'
                ? 'port 162 needs root or CAP_NET_BIND_SERVICE, or choose a port above 1023'
                : 'another process may hold the port; stop it or choose another port'),
            { cause: err },
          ),
        );
      });
      socket.once('listening', () => (socketReady = true));
      return socket;
    },
  };
  return { dgramModule, ready: () => socketReady };
}

/** Accept the configured communities and SNMPv3 users; anyone else is dropped and counted. */
function authorize(receiver: Receiver, config: SnmpTrapConfig): void {
  const auth = receiver.getAuthorizer();
  for (const c of config.communities) auth.addCommunity(c);
  for (const u of config.users) {
    auth.addUser({
      name: u.user,
      level: snmp.SecurityLevel[u.security_level],
      authProtocol: snmp.AuthProtocols[u.auth_protocol],
      authKey: u.auth_key,
      privProtocol: snmp.PrivProtocols[PRIV[u.priv_protocol]],
      privKey: u.priv_key,
    });
  }
}

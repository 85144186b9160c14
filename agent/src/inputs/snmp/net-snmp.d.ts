// Types for the parts of the `net-snmp` package (plain CommonJS, no bundled types) that
// the snmp and snmp_trap inputs use. Kept minimal on purpose: only what we call.
declare module 'net-snmp' {
  import type { Socket, SocketType } from 'node:dgram';

  /** A variable binding as net-snmp decodes it: Counter64 and OctetString values are Buffers. */
  export interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface SessionOptions {
    port?: number;
    retries?: number;
    timeout?: number;
    backoff?: number;
    transport?: 'udp4' | 'udp6';
    version?: number;
    idBitsSize?: 16 | 32;
    context?: string;
  }

  export interface User {
    name: string;
    level: number;
    authProtocol?: number;
    authKey?: string;
    privProtocol?: number;
    privKey?: string;
  }

  export interface Session {
    get(oids: string[], cb: (error: Error | null, varbinds?: Varbind[]) => void): void;
    subtree(oid: string, maxRepetitions: number, feed: (varbinds: Varbind[]) => boolean | void, done: (error: Error | null) => void): void;
    close(): void;
    on(event: 'error', cb: (error: Error) => void): this;
    on(event: 'close', cb: () => void): this;
  }

  export interface Notification {
    pdu: {
      type: number;
      id?: number;
      varbinds: Varbind[];
      /** SNMPv1 trap fields. */
      enterprise?: string;
      agentAddr?: string;
      generic?: number;
      specific?: number;
      upTime?: number;
      community?: string;
      user?: string;
    };
    rinfo: { address: string; family: string; port: number; size: number };
  }

  export interface Authorizer {
    addCommunity(community: string): void;
    addUser(user: User): void;
  }

  export interface Receiver {
    getAuthorizer(): Authorizer;
    close(cb?: () => void): void;
  }

  export interface ReceiverOptions {
    port?: number;
    address?: string | null;
    transport?: 'udp4' | 'udp6';
    disableAuthorization?: boolean;
    includeAuthentication?: boolean;
    engineID?: string;
    dgramModule?: { createSocket(type: SocketType): Socket };
  }

  interface Snmp {
    Version1: number;
    Version2c: number;
    Version3: number;
    ObjectType: Record<string, number>;
    PduType: Record<string, number>;
    SecurityLevel: { noAuthNoPriv: number; authNoPriv: number; authPriv: number };
    AuthProtocols: Record<'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512', number>;
    PrivProtocols: Record<'des' | 'aes' | 'aes256b' | 'aes256r', number>;
    ResponseInvalidCode: Record<string, number>;
    createSession(target: string, community: string, options?: SessionOptions): Session;
    createV3Session(target: string, user: User, options?: SessionOptions): Session;
    createReceiver(options: ReceiverOptions, cb: (error: Error | null, notification: Notification | null) => void): Receiver;
    isVarbindError(vb: Varbind): boolean;
  }

  const snmp: Snmp;
  export default snmp;
}

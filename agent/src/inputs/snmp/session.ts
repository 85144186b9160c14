// A promise-shaped SNMP client over net-snmp for one device (v2c or v3), and the
// mapping of net-snmp's errors to the result codes the `snmp` measurement carries.
import snmp from 'net-snmp';
import type { Varbind } from '../snmp-shared/varbind.ts';

export type Result = 'success' | 'timeout' | 'auth_error' | 'error';
/** result_code values, Telegraf-style: 0 is success. */
export const RESULT_CODES: Record<Result, number> = { success: 0, timeout: 1, auth_error: 2, error: 3 };
/** The stable error code logged with each failed result (listed in docs/errors.md). */
export const ERROR_CODES: Record<Exclude<Result, 'success'>, `CANH_ERR_${string}`> = {
  timeout: 'CANH_ERR_SNMP_TIMEOUT',
  auth_error: 'CANH_ERR_SNMP_AUTH',
  error: 'CANH_ERR_SNMP_ERROR',
};

export interface SnmpClient {
  get(oids: string[]): Promise<Varbind[]>;
  /** Every varbind under `oid` (GETBULK on v2c/v3); stops after `maxVarbinds`. */
  walk(oid: string, maxVarbinds?: number): Promise<Varbind[]>;
  close(): void;
}

export interface Credentials {
  version: '2c' | '3';
  community: string;
  user?: string;
  securityLevel: 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';
  authProtocol: 'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
  authKey?: string;
  privProtocol: 'des' | 'aes' | 'aes256' | 'aes256c';
  privKey?: string;
}

export interface Target {
  host: string;
  port: number;
  timeoutMs: number;
  retries: number;
  maxRepetitions: number;
}

/** An error we raise ourselves, already classified. */
export class SnmpPollError extends Error {
  readonly result: Result;
  constructor(result: Result, message: string) {
    super(message);
    this.name = 'SnmpPollError';
    this.result = result;
  }
}

const PRIV = { des: 'des', aes: 'aes', aes256: 'aes256b', aes256c: 'aes256r' } as const;

export function createClient(target: Target, cred: Credentials): SnmpClient {
  const options = {
    port: target.port,
    retries: target.retries,
    timeout: target.timeoutMs,
    transport: target.host.includes(':') ? ('udp6' as const) : ('udp4' as const),
    // Many embedded devices mishandle 32-bit request ids.
    idBitsSize: 16 as const,
  };
  const session =
    cred.version === '3'
      ? snmp.createV3Session(
          target.host,
          {
            name: cred.user ?? '',
            level: snmp.SecurityLevel[cred.securityLevel],
            authProtocol: snmp.AuthProtocols[cred.authProtocol],
            authKey: cred.authKey,
            privProtocol: snmp.PrivProtocols[PRIV[cred.privProtocol]],
            privKey: cred.privKey,
          },
          options,
        )
      : snmp.createSession(target.host, cred.community, { ...options, version: snmp.Version2c });
  let socketError: Error | undefined;
  // A socket error (bad address family, EPERM) must not become an uncaught 'error' event.
  session.on('error', (err) => (socketError = err));
  const failIfBroken = () => {
    if (socketError) throw new SnmpPollError('error', `socket error: ${socketError.message}`);
  };

  return {
    get(oids) {
      failIfBroken();
      return new Promise((resolve, reject) => {
        try {
          session.get(oids, (err, vbs) => (err ? reject(err) : resolve(vbs ?? [])));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    walk(oid, maxVarbinds = 100_000) {
      failIfBroken();
      return new Promise((resolve, reject) => {
        const out: Varbind[] = [];
        try {
          session.subtree(
            oid,
            target.maxRepetitions,
            (vbs) => {
              for (const vb of vbs) out.push(vb);
              // A device that walks in circles or answers an endless table stops here.
              return out.length >= maxVarbinds;
            },
            (err) => (err ? reject(err) : resolve(out)),
          );
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    close() {
      try {
        session.close();
      } catch {
        // closing twice throws "Not running" in net-snmp; closing is all we wanted
      }
    },
  };
}

/** Which result an error from net-snmp (or our own) stands for, and a message for humans. */
export function classify(err: unknown): { result: Result; message: string } {
  if (err instanceof SnmpPollError) return { result: err.result, message: err.message };
  const e = err as { name?: string; message?: string; code?: number };
  const message = e?.message ?? String(err);
  if (e?.name === 'RequestTimedOutError')
    return { result: 'timeout', message: 'no answer: check that the device is up and reachable over UDP, and its community or v3 user' };
  if (e?.name === 'ResponseInvalidError') {
    const codes = snmp.ResponseInvalidCode;
    if (e.code === codes.EAuthFailure || e.code === codes.ECouldNotDecrypt || e.code === codes.ECommunityNoMatch || e.code === codes.ENotInTimeWindow) {
      return { result: 'auth_error', message: `authentication failed: ${message} (check the user, auth_key and priv_key)` };
    }
  }
  return { result: 'error', message };
}

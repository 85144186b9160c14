// What the collector sends (welcome, ack, error, config), checked without zod: the
// running agent leaves zod out of its memory (config and central config are validated
// in a short-lived process, see validate-child.ts), and these four small shapes are all
// it reads from the wire. It accepts exactly what protocol's CollectorMessageSchema
// accepts and returns the same data (collector-message.test.ts holds the two together).
import { ProtocolError } from './codec.ts';
import type { CollectorMessage } from './messages.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isUint = (v: unknown): v is number => isInt(v) && v >= 0;

/**
 * The first problem of a strict object: a key it must not have, or a field of the wrong kind.
 * Keys are looked up as own properties only: with `in`, a frame's `__proto__`, `constructor`
 * or `toString` key matched Object.prototype's and passed as known (the schema refuses them).
 */
function check(o: Obj, fields: Record<string, (v: unknown) => boolean>, optional: readonly string[] = []): string | undefined {
  for (const k of Object.keys(o)) if (!Object.hasOwn(fields, k)) return `unrecognized key "${k}"`;
  for (const [k, ok] of Object.entries(fields)) {
    if (!Object.hasOwn(o, k) || o[k] === undefined) {
      if (optional.includes(k)) continue;
      return `${k}: required`;
    }
    if (!ok(o[k])) return `${k}: invalid value`;
  }
  return undefined;
}

const isString = (v: unknown) => typeof v === 'string';
const any = () => true;

function agentIdentity(v: unknown): boolean {
  return isObj(v) && check(v, { id: isString, host: isString, agency: isString, site: isString }) === undefined;
}

function problem(m: Obj): string | undefined {
  switch (m.type) {
    case 'welcome':
      return check(m, { type: any, protocol: (v) => isInt(v) && v > 0, server_time: isInt, agent: agentIdentity, config_version: isUint, config: any }, [
        'config_version',
        'config',
      ]);
    case 'ack':
      return check(m, { type: any, seq: isUint });
    case 'error':
      return check(m, { type: any, code: isString, message: isString, seq: isUint }, ['seq']);
    case 'config':
      // config is z.unknown(): required as a key, any value (null included).
      return Object.hasOwn(m, 'config') ? check(m, { type: any, version: isUint, config: any }, ['config']) : 'config: required';
    default:
      return 'type: not a collector message type (welcome, ack, error, config)';
  }
}

/** Parse and check one frame from the collector; throws ProtocolError saying what is wrong. */
export function decodeFromCollector(data: string | Buffer): CollectorMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    throw new ProtocolError('frame is not valid JSON');
  }
  if (!isObj(raw)) throw new ProtocolError('(root): expected an object');
  const p = problem(raw);
  if (p) throw new ProtocolError(p);
  return raw as unknown as CollectorMessage;
}

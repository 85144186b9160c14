// The JSON lines of `canh-agent detect auth_log`, written by hand for the verdict's fixed
// shape: the same text JSON.stringify gives for the same object (detect-out.test.ts holds
// them equal, on every fixture line and on hostile strings), without building the object
// and walking it. User names, programs, methods and details are the attacker's text: every
// string goes through `jsonString`, which escapes what JSON.stringify escapes.
import type { AuthRecord } from './detectors/auth_log/parse.ts';

// What JSON.stringify escapes in a string: the quote, the backslash, control characters and
// lone surrogates. A string with none is its own JSON text between quotes; any other (rare in
// a log: a valid surrogate pair matches too) is left to JSON.stringify.
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

export function jsonString(s: string): string {
  return ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A field's JSON value as JSON.stringify writes it (NaN and the infinities as null). */
function value(v: string | number | boolean | null): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? `${v}` : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return 'null';
}

/** `,"key":value` when the value is defined (JSON.stringify leaves undefined members out). */
const member = (prefix: string, v: string | number | boolean | null | undefined) => (v === undefined ? '' : prefix + value(v));

/**
 * One line's verdict: `{"line":n,"committed":true,"kind":...}` with the members of
 * `verdictObject` (detect-out.test.ts) in its order, undefined ones left out.
 */
export function verdictJson(line: number, x: AuthRecord, time: string | undefined, committed?: true): string {
  return (
    `{"line":${value(line)}` +
    member(',"committed":', committed) +
    member(',"kind":', x.kind) +
    member(',"program":', x.program) +
    member(',"pid":', x.pid) +
    member(',"time":', time) +
    member(',"user":', x.user) +
    member(',"src":', x.src) +
    member(',"port":', x.port) +
    member(',"service":', x.service) +
    member(',"method":', x.method) +
    member(',"invalid_user":', x.invalidUser || undefined) +
    member(',"target":', x.target) +
    member(',"detail":', x.detail) +
    member(',"level":', x.level) +
    member(',"counts":', x.counts) +
    member(',"held":', x.deferred || undefined) +
    member(',"repeat":', x.repeat > 1 ? x.repeat : undefined) +
    '}'
  );
}

/** A line of a watched program that no pattern knows: `{"line":n,"verdict":"unrecognised","program":...}`. */
export function unrecognisedJson(line: number, program: string | undefined): string {
  return `{"line":${value(line)},"verdict":"unrecognised"${member(',"program":', program)}}`;
}

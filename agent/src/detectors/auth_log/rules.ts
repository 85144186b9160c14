// Rules (a pattern and what it makes of a match) and their index by a message's first
// character, read from each rule's own pattern (sshd.ts, local.ts use it). Trying rules by
// index keeps the per-line path free of iterators (V8's interpreter under --lite-mode).
import type { Fields } from './fields.ts';

export type Rule = [RegExp, (m: RegExpExecArray) => Fields | undefined];

export function run(rules: readonly Rule[], msg: string): Fields | undefined {
  // Indexed, not `for (const [re, f] of rules)`: under the agent's interpreter-only Node
  // options each iteration and each destructuring goes through the iterator protocol.
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const m = r[0].exec(msg);
    if (m) return r[1](m);
  }
  return undefined;
}

/**
 * The characters a message matched by `^…` must start with, read from the pattern's source:
 * a literal, a class of literals ([aA]) or a group of such alternatives. Undefined when the
 * pattern starts otherwise (the rule is then tried for every message).
 */
export function leadingChars(re: RegExp): string | undefined {
  const src = re.source;
  if (re.flags.includes('i') || !src.startsWith('^')) return undefined;
  // "^a|b" is "^a" or "b" anywhere.
  const whole = alternatives(src, 1);
  if (!whole || whole.bars.length || whole.end !== src.length) return undefined;
  return leadAt(src, 1)?.chars;
}

const QUANTIFIER = new Set(['?', '*', '{']);

/** The top-level "|" of the group whose content starts at `from`, and where it ends (its ")" or the end of the source). */
function alternatives(src: string, from: number): { bars: number[]; end: number } | undefined {
  const bars: number[] = [];
  let depth = 0;
  for (let k = from; k < src.length; k++) {
    const ch = src[k];
    if (ch === '\\') k++;
    else if (ch === '[') {
      k++;
      if (src[k] === '^') k++;
      while (k < src.length && src[k] !== ']') k += src[k] === '\\' ? 2 : 1;
      if (k >= src.length) return undefined;
    } else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) return { bars, end: k };
      depth--;
    } else if (ch === '|' && depth === 0) bars.push(k);
  }
  return depth === 0 ? { bars, end: src.length } : undefined;
}

function leadAt(src: string, i: number): { chars: string; end: number } | undefined {
  const c = src[i];
  let chars: string;
  let end: number;
  if (c === '(') {
    let j = i + 1;
    if (src.startsWith('?:', j)) j += 2;
    else if (src[j] === '?') return undefined;
    const g = alternatives(src, j);
    if (!g || src[g.end] !== ')') return undefined;
    chars = '';
    for (const start of [j, ...g.bars.map((b) => b + 1)]) {
      const a = leadAt(src, start);
      if (!a) return undefined;
      chars += a.chars;
    }
    end = g.end + 1;
  } else if (c === '[') {
    end = src.indexOf(']', i + 1);
    chars = src.slice(i + 1, end);
    if (end < 0 || !/^[A-Za-z0-9]+$/.test(chars)) return undefined;
    end++;
  } else if (c !== undefined && /[A-Za-z0-9 _:;,=<>'"%@!&#~`]/.test(c)) {
    chars = c;
    end = i + 1;
  } else return undefined;
  return QUANTIFIER.has(src[end]!) ? undefined : { chars, end };
}

/** Rules by the first character of a message: each list keeps the rules' order (the first match wins). */
export class RuleIndex {
  private readonly byChar = new Map<number, Rule[]>();
  private readonly any: Rule[] = [];
  readonly rules: readonly Rule[];

  constructor(rules: readonly Rule[]) {
    this.rules = rules;
    const leads = rules.map(([re]) => leadingChars(re));
    for (const l of leads) for (const ch of l ?? '') this.byChar.set(ch.charCodeAt(0), []);
    rules.forEach((r, k) => {
      const l = leads[k];
      if (l === undefined) {
        this.any.push(r);
        for (const list of this.byChar.values()) list.push(r);
      } else for (const ch of new Set(l)) this.byChar.get(ch.charCodeAt(0))!.push(r);
    });
  }

  run(msg: string): Fields | undefined {
    return run(this.byChar.get(msg.charCodeAt(0)) ?? this.any, msg);
  }
}

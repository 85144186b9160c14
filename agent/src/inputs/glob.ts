// Shell-style name patterns for config lists such as `interfaces: ["eth*", "enp0s[0-1]"]`
// and `devices: ["sd*"]`, the same syntax Telegraf's filters accept: * ? [...] {a,b}.

function toRegExp(pattern: string): RegExp {
  let re = '';
  let inBraces = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body}]`;
      i = end;
    } else if (c === '{') {
      inBraces = true;
      re += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      re += ')';
    } else if (c === ',' && inBraces) re += '|';
    else re += c.replace(/[.+^$()|\\{}\]]/g, '\\$&');
  }
  if (inBraces) re += ')';
  return new RegExp(`^${re}$`);
}

/** A matcher for any of the patterns; an empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map(toRegExp);
  return (name) => res.some((re) => re.test(name));
}

// Counter names in the host's language. typeperf (like PDH's PdhAddCounter under it)
// takes counter paths in the language Windows displays: "\Processor(*)\% Processor Time"
// finds nothing on a Vietnamese or German Windows. Perflib keeps every object and counter
// name under a language-neutral index, in English (Perflib\009) and in the display
// language (Perflib\CurrentLanguage), so an English name is looked up to its index in the
// first table and the index to the local name in the second (the method of Microsoft KB
// 287159). The two tables are read once, by one short PowerShell run at start-up.

/** One counter an input wants, named in English as Perflib\009 names it. */
export interface CounterRequest {
  object: string;
  counter: string;
  /** "*" for every instance, a name ("_Total") for one, undefined for an object without instances. */
  instance?: string;
}

/** The key a value is found under in a sample: English names, the instance as typeperf printed it. */
export function valueKey(object: string, instance: string | undefined, counter: string): string {
  return `${object}\u0000${instance ?? ''}\u0000${counter}`;
}

export function requestKey(r: CounterRequest): string {
  return valueKey(r.object, r.instance, r.counter);
}

/**
 * Prints both name tables, one "<table>\t<index>\t<name>" line per entry, in UTF-8
 * whatever the console's code page (Vietnamese names survive the pipe).
 */
export const NAME_TABLES_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false',
  "$k = 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Perflib\\'",
  "foreach ($t in '009', 'CurrentLanguage') {",
  '  $c = (Get-ItemProperty -LiteralPath ($k + $t) -Name Counter).Counter',
  '  $o = New-Object System.Text.StringBuilder',
  '  for ($i = 0; $i + 1 -lt $c.Count; $i += 2) { [void]$o.Append($t).Append("`t").Append($c[$i]).Append("`t").Append($c[$i + 1]).Append("`n") }',
  '  [Console]::Out.Write($o.ToString())',
  '}',
].join('\n');

export function nameTablesArgs(): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', NAME_TABLES_SCRIPT];
}

export interface NameTables {
  /** English name (lower case) → its indexes, lowest first. */
  english: Map<string, number[]>;
  /** Index → name in the display language. */
  local: Map<number, string>;
}

/** The script's output; lines that are not "<table>\t<index>\t<name>" are skipped. */
export function parseNameTables(text: string): NameTables {
  const english = new Map<string, number[]>();
  const local = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const a = line.indexOf('\t');
    const b = a === -1 ? -1 : line.indexOf('\t', a + 1);
    if (b === -1) continue;
    const table = line.slice(0, a);
    const index = Number(line.slice(a + 1, b));
    const name = line.slice(b + 1);
    if (!Number.isSafeInteger(index) || index <= 0 || !name) continue;
    if (table === '009') {
      const key = name.toLowerCase();
      const list = english.get(key);
      if (!list) english.set(key, [index]);
      else if (!list.includes(index)) list.push(index);
    } else if (table === 'CurrentLanguage') local.set(index, name);
  }
  for (const list of english.values()) list.sort((x, y) => x - y);
  return { english, local };
}

/** The display-language name of an English one; the English name itself when the tables do not know it. */
export function localName(tables: NameTables | undefined, english: string): string {
  const indexes = tables?.english.get(english.toLowerCase());
  if (!indexes) return english;
  // An English name may own several indexes (the same words in two objects); the lowest
  // with a local name is taken (they carry one translation in the tables seen so far).
  for (const i of indexes) {
    const n = tables!.local.get(i);
    if (n) return n;
  }
  return english;
}

/** The typeperf path of a request, in the display language. */
export function localPath(tables: NameTables | undefined, r: CounterRequest): { path: string; object: string; counter: string } {
  const object = localName(tables, r.object);
  const counter = localName(tables, r.counter);
  const path = r.instance === undefined ? `\\${object}\\${counter}` : `\\${object}(${r.instance})\\${counter}`;
  return { path, object, counter };
}

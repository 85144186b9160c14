// Parsing what `typeperf <paths> -si N` prints: a PDH-CSV header naming every counter
// column, then one row per sample. Pure functions; the kept child is in source.ts.
//
// Facts this relies on (sources in testdata/README.md):
// - the header's first field is "(PDH-CSV 4.0)" on standard output, and in a log file
//   "(PDH-CSV 4.0) (<time zone name>)(<bias>)", the bias in minutes with UTC = local time +
//   bias (India, UTC+5:30, prints -330);
// - each other header field is a full counter path, "\\HOST\Object(Instance)\Counter" or
//   "\\HOST\Object\Counter"; PDH writes "(" and ")" inside instance names as "[" and "]";
// - a wildcard path "(*)" becomes one column per instance, in place;
// - rows are "MM/DD/YYYY HH:MM:SS.mmm" then one quoted value per column; a value PDH could
//   not read (an instance that went away) is printed as " " (blank);
// - values carry six decimals, with the user's decimal separator ("12,500000" in vi-VN).

export interface Column {
  /** Object, instance and counter as typeperf printed them (localised, maybe mis-decoded). */
  object: string;
  instance: string | undefined;
  counter: string;
}

export interface Header {
  /** Minutes to add to the printed local time to get UTC; undefined when not printed. */
  biasMinutes: number | undefined;
  columns: Column[];
}

/** Fields of one CSV line whose fields are all double-quoted ("" is a quote inside). */
export function splitQuoted(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  // A console copy may end in padding (full-width spaces in a Japanese console) and \r.
  const s = line.trimEnd();
  while (i < s.length) {
    if (s[i] !== '"') return undefined;
    let v = '';
    i++;
    for (;;) {
      const q = s.indexOf('"', i);
      if (q === -1) return undefined;
      v += s.slice(i, q);
      if (s[q + 1] === '"') {
        v += '"';
        i = q + 2;
        continue;
      }
      i = q + 1;
      break;
    }
    out.push(v);
    if (i === s.length) break;
    if (s[i] !== ',') return undefined;
    i++;
  }
  return out;
}

/** "\\HOST\Object(Instance)\Counter" into its parts; undefined when it is not a counter path. */
export function parseCounterPath(path: string): Column | undefined {
  if (!path.startsWith('\\\\')) return undefined;
  const afterHost = path.indexOf('\\', 2);
  const lastSlash = path.lastIndexOf('\\');
  if (afterHost === -1 || lastSlash <= afterHost) return undefined;
  const counter = path.slice(lastSlash + 1);
  const objectPart = path.slice(afterHost + 1, lastSlash);
  if (!counter || !objectPart) return undefined;
  // Instances cannot hold "(" (PDH prints it as "["), so the last "(" opens the instance.
  const open = objectPart.lastIndexOf('(');
  if (open > 0 && objectPart.endsWith(')')) return { object: objectPart.slice(0, open), instance: objectPart.slice(open + 1, -1), counter };
  return { object: objectPart, instance: undefined, counter };
}

/** The header line, or undefined when the line is not one. */
export function parseHeader(line: string): Header | undefined {
  const f = splitQuoted(line);
  if (!f || f.length < 2 || !f[0]!.startsWith('(PDH-CSV')) return undefined;
  const bias = /\((-?\d+)\)\s*$/.exec(f[0]!);
  const columns: Column[] = [];
  for (let i = 1; i < f.length; i++) {
    const c = parseCounterPath(f[i]!);
    if (!c) return undefined;
    columns.push(c);
  }
  return { biasMinutes: bias ? Number(bias[1]) : undefined, columns };
}

export interface Row {
  /** UTC ms, when the header gave the time zone's bias and the time column could be read. */
  time: number | undefined;
  /** The printed local time read as if it were UTC (ms): for the time between two rows. */
  local: number | undefined;
  /** One entry per header column; undefined where typeperf printed a blank. */
  values: (number | undefined)[];
}

const STAMP = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/** "MM/DD/YYYY HH:MM:SS.mmm" (the host's local time) as ms, read as if it were UTC. */
export function parseLocalStamp(text: string): number | undefined {
  const m = STAMP.exec(text.trim());
  if (!m) return undefined;
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const local = Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  return Number.isFinite(local) ? local : undefined;
}

/** The same, to UTC ms by the header's bias; undefined without one. */
export function parseStamp(text: string, biasMinutes: number | undefined): number | undefined {
  const local = parseLocalStamp(text);
  return local === undefined || biasMinutes === undefined ? undefined : local + biasMinutes * 60_000;
}

/** A printed value: "12.500000", "12,500000" (decimal comma), "1.5e+010"; blank or junk → undefined. */
export function parseValue(text: string): number | undefined {
  const s = text.trim();
  if (!s) return undefined;
  const n = Number(/^-?\d+,\d+$/.test(s) ? s.replace(',', '.') : s);
  return Number.isFinite(n) ? n : undefined;
}

/** A data row for a header of `width` columns; undefined when the line is not one. */
export function parseRow(line: string, width: number, biasMinutes: number | undefined): Row | undefined {
  const f = splitQuoted(line);
  if (!f || f.length !== width + 1 || !STAMP.test(f[0]!.trim())) return undefined;
  const values: (number | undefined)[] = new Array(width);
  for (let i = 0; i < width; i++) values[i] = parseValue(f[i + 1]!);
  const local = parseLocalStamp(f[0]!);
  return { time: local === undefined || biasMinutes === undefined ? undefined : local + biasMinutes * 60_000, local, values };
}

// A stand-in for Windows's counter source on this Linux machine, for end-to-end tests of
// the agent's Windows code path. As typeperf: `typeperf-replay.ts <capture.csv> <counter
// paths...> -si N` prints the capture's header at once, then one of its rows every N
// seconds (round and round), each stamped with the time it is printed, until it is killed;
// the counter paths are ignored (the capture says what it holds). As the start-up
// PowerShell run that reads the counter names: `typeperf-replay.ts --names <table.txt>
// <powershell arguments...>` prints the table. It is the only fake of the test; everything
// after it (the agent, the collector, InfluxDB) is real.
import { readFileSync } from 'node:fs';

const [file, ...args] = process.argv.slice(2);
if (file === '--names' && args[0]) {
  process.stdout.write(readFileSync(args[0], 'utf8'));
  process.exit(0);
}
if (!file) {
  process.stderr.write('usage: typeperf-replay.ts <capture.csv> <paths...> -si <seconds>\n');
  process.exit(2);
}
const si = Number(args[args.indexOf('-si') + 1] ?? 1);
const lines = readFileSync(file, 'utf8')
  .split('\n')
  .map((l) => l.replace(/\r$/, ''))
  .filter((l) => l.trim());
const [header, ...rows] = lines;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const stamp = (d: Date) =>
  `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
process.stdout.write(`${header}\r\n`);
let i = 0;
setInterval(
  () => {
    const row = rows[i++ % rows.length]!;
    process.stdout.write(`${row.replace(/^"[^"]*"/, `"${stamp(new Date())}"`)}\r\n`);
  },
  Math.max(1, si) * 1000,
);
process.on('SIGTERM', () => process.exit(0));

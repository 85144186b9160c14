// Runs an access log through the parser and the scenarios with the log's own clock, as if
// it were followed live: what `canh-agent detect web_access` prints and what the fixture
// tests compare. Streams its input line by line, so a large log costs little memory.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RequestText } from './classify.ts';
import { makeScenarios, type WebAccessConfig } from './options.ts';
import { makeParser, type WebRequest } from './parse.ts';
import type { WebEvent } from './scenarios.ts';

export interface WebReplaySink {
  request?(line: number, r: WebRequest, families: string[]): void;
  event(e: WebEvent): void;
}

export interface WebReplaySummary {
  lines: number;
  recognised: number;
  unparsed: number;
  events: number;
}

function replayer(cfg: WebAccessConfig, sink: WebReplaySink): { push(line: string): void; summary: WebReplaySummary } {
  const parse = makeParser(cfg.format);
  const sc = makeScenarios(cfg);
  const summary: WebReplaySummary = { lines: 0, recognised: 0, unparsed: 0, events: 0 };
  let clock = 0;
  return {
    summary,
    push(line) {
      summary.lines++;
      if (line === '') return;
      const r = parse(line);
      if (!r) {
        if (!line.startsWith('#')) summary.unparsed++;
        return;
      }
      summary.recognised++;
      if (r.time !== undefined && r.time > clock) clock = r.time;
      const text = new RequestText(r);
      sink.request?.(summary.lines, r, [...text.families]);
      for (const e of sc.observe(r, clock, text)) {
        summary.events++;
        sink.event(e);
      }
    },
  };
}

export function replayWebLines(lines: Iterable<string>, cfg: WebAccessConfig, sink: WebReplaySink): WebReplaySummary {
  const r = replayer(cfg, sink);
  for (const line of lines) r.push(line);
  return r.summary;
}

export async function replayWebStream(input: Readable, cfg: WebAccessConfig, sink: WebReplaySink): Promise<WebReplaySummary> {
  const r = replayer(cfg, sink);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) r.push(line);
  return r.summary;
}

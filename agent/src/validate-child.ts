// The running agent validates its config, and every central config the collector
// pushes, in a short-lived copy of itself: zod and yaml (their code and every input's
// schema, ~10 MiB) then never enter the memory of the process that runs for months
// (bench:agent: RSS max 69.1 → 59.7 MiB). The copy is the same program (the single
// executable, or node with the same script and options) started with a hidden command;
// it answers with one JSON line: the validated config, defaults filled in, or the error
// with the same code, message and problem list an in-process check gives.
// Only the bundle's `run` does this (zod-mode.ts); other commands and source runs
// validate in-process.
import { spawn, spawnSync } from 'node:child_process';
import { isSea } from 'node:sea';
import { CanhError, type CanhErrorCode } from '@canh/core';
import { ConfigError, loadConfig, parseCentralConfig, type AgentConfig, type CentralConfig, type InputEntry } from './config.ts';
import { findInput } from './inputs/index.ts';
import { findDetector } from './detectors/index.ts';
import { VALIDATE_FOR_RUN } from './cli-options.ts';

export { VALIDATE_FOR_RUN };

type Entry = Omit<InputEntry, 'definition'>;
interface Failure {
  kind: 'config' | 'canh' | 'other';
  code?: string;
  message: string;
  problems?: string[];
  file?: string;
}
type Answer<T> = { ok: true; value: T } | { ok: false; error: Failure };
type PlainConfig = Omit<AgentConfig, 'inputs' | 'detectors'> & { inputs: Entry[]; detectors: Entry[] };
type PlainCentral = Omit<CentralConfig, 'inputs' | 'detectors'> & { inputs?: Entry[]; detectors?: Entry[] };

const plain = (list: InputEntry[]): Entry[] => list.map(({ definition: _, ...e }) => e);

function withDefinitions(list: Entry[], find: (name: string) => InputEntry['definition'] | undefined): InputEntry[] {
  return list.map((e) => {
    const definition = find(e.type);
    if (!definition) throw new Error(`config check returned an unknown input or detector "${e.type}"`);
    return { ...e, definition };
  });
}

export interface Program {
  cmd: string;
  args: string[];
}

/** This program again: the single executable, or node with the same options and script. */
function self(): Program {
  return isSea() ? { cmd: process.execPath, args: [] } : { cmd: process.execPath, args: [...process.execArgv, process.argv[1]!] };
}

function answerOf<T>(status: number | null, stdout: string, stderr: string, error?: Error): T {
  let answer: Answer<T> | undefined;
  try {
    answer = JSON.parse(stdout) as Answer<T>;
  } catch {
    // Below: the copy did not answer.
  }
  if (!answer) throw new Error(`the config check process failed (${error?.message ?? `exit ${status}`}): ${stderr.trim().slice(-2000)}`);
  if (answer.ok) return answer.value;
  const f = answer.error;
  if (f.kind === 'config') throw new ConfigError(f.problems ?? [], f.file);
  if (f.kind === 'canh') throw new CanhError(f.code as CanhErrorCode, f.message);
  throw new Error(f.message);
}

/** loadConfig(file), done by a copy of this program. */
export function loadConfigInChild(file: string, program: Program = self()): AgentConfig {
  const { cmd, args } = program;
  const r = spawnSync(cmd, [...args, VALIDATE_FOR_RUN, '--config', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const c = answerOf<PlainConfig>(r.status, r.stdout ?? '', r.stderr ?? '', r.error);
  return { ...c, inputs: withDefinitions(c.inputs, findInput), detectors: withDefinitions(c.detectors, findDetector) };
}

/** parseCentralConfig(raw), done by a copy of this program (without blocking the agent). */
export function parseCentralInChild(raw: unknown, program: Program = self()): Promise<CentralConfig> {
  const { cmd, args } = program;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args, VALIDATE_FOR_RUN, '--central'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(err));
    child.on('close', (status) => {
      try {
        const { inputs, detectors, ...rest } = answerOf<PlainCentral>(status, stdout, stderr);
        resolve({
          ...rest,
          ...(inputs ? { inputs: withDefinitions(inputs, findInput) } : {}),
          ...(detectors ? { detectors: withDefinitions(detectors, findDetector) } : {}),
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(raw ?? null));
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The copy's side: `__validate-for-run --config F` or `--central` (the raw config on standard input). */
export async function validateForRun(argv: readonly string[]): Promise<number> {
  let answer: Answer<PlainConfig | PlainCentral>;
  const file = argv[0] === '--config' ? argv[1] : undefined;
  try {
    if (argv[0] === '--config' && argv[1] !== undefined) {
      const c = loadConfig(argv[1]);
      answer = { ok: true, value: { ...c, inputs: plain(c.inputs), detectors: plain(c.detectors) } };
    } else if (argv[0] === '--central') {
      const { inputs, detectors, ...rest } = parseCentralConfig(JSON.parse(await readStdin()) as unknown);
      answer = { ok: true, value: { ...rest, ...(inputs ? { inputs: plain(inputs) } : {}), ...(detectors ? { detectors: plain(detectors) } : {}) } };
    } else throw new Error(`${VALIDATE_FOR_RUN}: expected --config FILE or --central`);
  } catch (err) {
    if (err instanceof ConfigError)
      answer = { ok: false, error: { kind: 'config', code: err.code, message: err.message, problems: err.problems, ...(file ? { file } : {}) } };
    else if (err instanceof CanhError) answer = { ok: false, error: { kind: 'canh', code: err.code, message: err.message } };
    else answer = { ok: false, error: { kind: 'other', message: (err as Error).message } };
  }
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(answer)}\n`, () => resolve()));
  return 0;
}

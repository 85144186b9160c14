// The command line's options, shared by the CLI and the bundle's entry (which must know
// whether the command is the long-running `run` before it loads the rest). Imports only
// node:util.
import { parseArgs } from 'node:util';

export const CLI_OPTIONS = {
  config: { type: 'string', short: 'c' },
  validate: { type: 'boolean' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
  input: { type: 'string', multiple: true },
  file: { type: 'string', short: 'f' },
  set: { type: 'string', multiple: true },
} as const;

/** First argument of the short-lived copy of the agent that validates a running one's config (validate-child.ts). */
export const VALIDATE_FOR_RUN = '__validate-for-run';

/** Whether argv runs the agent as a service (`run`, the default command), not a one-off command. */
export function isRunCommand(argv: readonly string[]): boolean {
  if (argv[0] === 'service') return false;
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: CLI_OPTIONS });
    return !values.validate && !values.version && !values.help && (positionals[0] ?? 'run') === 'run';
  } catch {
    return false;
  }
}

/** Whether argv is the one-off `detect` command (a batch job: the bundle starts it with other Node options). */
export function isDetectCommand(argv: readonly string[]): boolean {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: CLI_OPTIONS });
    return !values.version && !values.help && positionals[0] === 'detect';
  } catch {
    return false;
  }
}

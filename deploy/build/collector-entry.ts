// Entry point of the collector bundle (deploy/build/collector.ts → lib/canh-collector.mjs).
// cli.ts starts itself when it is the main module; in a bundle every module is "main",
// so the build defines import.meta.main away and this file starts the CLI instead.
import { main } from '../../collector/src/cli.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Coded errors by their code, not their class: the class may move between packages.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('CANH_ERR_')) process.stderr.write(`canh-collector: ${(err as Error).message}\n(${code})\n`);
    else process.stderr.write(`canh-collector: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

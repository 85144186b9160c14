// Builds the agent as one JavaScript file with every dependency inside
// (`npm run build:agent` → dist/canh-agent.cjs), the input of the single executable.
// Run with `node dist/canh-agent.cjs ...` it needs only Node 24, no node_modules.
import { build, type Metafile } from 'esbuild';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
export const BUNDLE = join(DIST, 'canh-agent.cjs');

export async function bundleAgent(opts: { outfile?: string; quiet?: boolean } = {}): Promise<{ file: string; bytes: number; metafile: Metafile }> {
  const outfile = opts.outfile ?? BUNDLE;
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'agent-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    // CommonJS: the only format a Node 24 single executable can run as its main script.
    format: 'cjs',
    // ws loads these native speed-ups when present (inside try/catch). A single
    // executable cannot load native addons from disk: utf-8-validate is left out (the
    // define below makes ws not even try), and bufferutil's place is taken by
    // agent/src/ws-mask.ts, masking four bytes per step instead of ws's byte loop
    // (bench:agent: 0.4 ms of an 8 KB batch's send under --lite-mode).
    external: ['utf-8-validate'],
    alias: { bufferutil: join(ROOT, 'agent/src/ws-mask.ts') },
    define: {
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
      // cli.ts starts itself when it is the main module; in the bundle agent-entry.ts does.
      'import.meta.main': 'false',
    },
    // zod and yaml through shims that leave them out of the long-running `run`
    // (deploy/build/not-in-agent.cjs, agent/src/zod-mode.ts), net-snmp through one that
    // loads it on first use (net-snmp.cjs); the shims load the real ones.
    plugins: [
      {
        name: 'not-in-agent',
        setup(b) {
          b.onResolve({ filter: /^(zod|yaml|net-snmp)$/ }, (args) =>
            args.importer.startsWith(join(ROOT, 'deploy', 'build')) ? undefined : { path: join(ROOT, 'deploy', 'build', `${args.path}.cjs`) },
          );
        },
      },
    ],
    banner: { js: '#!/usr/bin/env node\n// canh-agent: single-file build; source at agent/src, built by deploy/build/bundle.ts' },
    legalComments: 'linked',
    // Whitespace and syntax only: names stay readable in stack traces and logs. V8 keeps
    // the source text in memory; 1.9 → 1.3 MB saved ~3 MiB of RSS in bench:agent
    // (max 72 → 69 MiB, steady 65 → 62 MiB). Renaming identifiers too saved no more.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: false,
    metafile: true,
    logLevel: opts.quiet ? 'error' : 'warning',
    logOverride: { 'empty-import-meta': 'silent' },
  });
  return { file: outfile, bytes: statSync(outfile).size, metafile: result.metafile };
}

if (import.meta.main) {
  const t0 = performance.now();
  const { file, bytes } = await bundleAgent();
  process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

// Builds the agent as one JavaScript file with every dependency inside
// (`npm run build:agent` → dist/canh-agent.cjs), the input of the single executable.
// Run with `node dist/canh-agent.cjs ...` it needs only Node 24, no node_modules.
import { build, type Metafile, type Plugin } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
export const BUNDLE = join(DIST, 'canh-agent.cjs');

/** zod's messages in English only: z.locales' 60-odd other languages are never used. */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.c?js$/ }, () => ({ path: 'zod-locales', namespace: 'zod-english-only' }));
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () => ({
      contents: `exports.en = require('./en.cjs').default;`,
      resolveDir: join(ROOT, 'node_modules/zod/v4/locales'),
      loader: 'js',
    }));
  },
};

/**
 * ws requires node:https and node:tls when it loads, for wss:// only; requiring node:tls
 * makes Node parse its bundled root certificates, ~2.9 MiB of RSS an agent with a ws://
 * collector never uses (agent/src/lazy-tls.ts does the same for the agent's own code).
 * Both are required at their first use instead. The build fails if ws's lines change.
 */
const lazyTlsInWs: Plugin = {
  name: 'lazy-tls-in-ws',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ws[\\/]lib[\\/]websocket\.js$/ }, (args) => {
      let js = readFileSync(args.path, 'utf8');
      const lines: [string, string][] = [
        ["const https = require('https');", "const https = { get request() { return require('https').request; } };"],
        ["const tls = require('tls');", "const tls = { connect: (options) => require('tls').connect(options) };"],
      ];
      for (const [from, to] of lines) {
        if (!js.includes(from)) throw new Error(`lazy-tls-in-ws: ${args.path} no longer has ${from}`);
        js = js.replace(from, to);
      }
      return { contents: js, loader: 'js' };
    });
  },
};

/**
 * zod, yaml and net-snmp as their shims (deploy/build/*.cjs) load them: fully minified,
 * names included. The long-running agent never runs them (zod and yaml are for the
 * config check, net-snmp for SNMP inputs), but V8 keeps the whole script's text in
 * memory: 1.05 MB of it was theirs.
 */
async function prebuilt(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const pkg of ['zod', 'yaml', 'net-snmp']) {
    out[pkg] = join(dir, `${pkg}.cjs`);
    await build({
      stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: ROOT, loader: 'js' },
      outfile: out[pkg],
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      logLevel: 'error',
      plugins: pkg === 'zod' ? [zodEnglishOnly] : [],
    });
  }
  return out;
}

export async function bundleAgent(opts: { outfile?: string; quiet?: boolean } = {}): Promise<{ file: string; bytes: number; metafile: Metafile }> {
  const outfile = opts.outfile ?? BUNDLE;
  const tmp = mkdtempSync(join(tmpdir(), 'canh-bundle-'));
  try {
    return await bundleWith(outfile, await prebuilt(tmp), opts.quiet);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function bundleWith(outfile: string, packages: Record<string, string>, quiet?: boolean): Promise<{ file: string; bytes: number; metafile: Metafile }> {
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
      lazyTlsInWs,
      {
        name: 'not-in-agent',
        setup(b) {
          b.onResolve({ filter: /^(zod|yaml|net-snmp)$/ }, (args) =>
            args.importer.startsWith(join(ROOT, 'deploy', 'build'))
              ? { path: packages[args.path]! }
              : { path: join(ROOT, 'deploy', 'build', `${args.path}.cjs`) },
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
    logLevel: quiet ? 'error' : 'warning',
    logOverride: { 'empty-import-meta': 'silent' },
  });
  return { file: outfile, bytes: statSync(outfile).size, metafile: result.metafile };
}

if (import.meta.main) {
  const t0 = performance.now();
  const { file, bytes } = await bundleAgent();
  process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

// Builds canh-agent as a single executable that needs no Node on the host, with Node's
// Single Executable Applications: the CommonJS bundle becomes a blob
// (`node --experimental-sea-config`) that postject injects into an official Node binary.
//   npm run build:exe -- --target linux-x64|linux-arm64|win-x64   → dist/canh-agent-<target>[.exe]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleAgent, DIST } from './bundle.ts';
import { AGENT_NODE_FLAGS } from '../../agent/src/node-flags.ts';
import { isTarget, nodeBinary, nodeVersion, TARGETS, type Target } from './node-dist.ts';

/** The fuse Node looks for to know a SEA blob is present (Node's documented value). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const require = createRequire(import.meta.url);
const { inject } = require('postject') as {
  inject: (file: string, name: string, data: Buffer, opts: { sentinelFuse: string; machoSegmentName?: string; overwrite?: boolean }) => Promise<void>;
};

export function hostTarget(): Target | undefined {
  const t = `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  return isTarget(t) ? t : undefined;
}

export async function buildExecutable(target: Target, opts: { outDir?: string; log?: (s: string) => void } = {}): Promise<{ file: string; bytes: number }> {
  const log = opts.log ?? (() => {});
  const outDir = opts.outDir ?? DIST;
  const version = nodeVersion();
  // The blob is made by the node running this script; its format belongs to one Node version.
  if (process.versions.node !== version) throw new Error(`build with Node ${version} (node_modules/.bin/node); this is ${process.versions.node}`);
  mkdirSync(outDir, { recursive: true });
  const work = join(outDir, `.sea-${target}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'canh-agent.cjs');
  await bundleAgent({ outfile: bundle, quiet: true });
  const blob = join(work, 'sea-prep.blob');
  const seaConfig = join(work, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      // V8's code cache is only valid on the platform that produced it.
      useCodeCache: target === hostTarget(),
      // The Node options the agent is shipped with (agent/src/node-flags.ts).
      execArgv: [...AGENT_NODE_FLAGS],
      // `detect` starts itself again with other options (deploy/build/agent-entry.ts), which a
      // single executable accepts only as --node-options=... (NODE_OPTIONS is then not read).
      execArgvExtension: 'cli',
    }),
  );
  // Made under the same V8 options the executable runs with: V8 rejects a code cache
  // produced under other flags (and says so on stderr at every start).
  execFileSync(process.execPath, [...AGENT_NODE_FLAGS, '--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = join(outDir, `canh-agent-${target}${target.startsWith('win') ? '.exe' : ''}`);
  rmSync(out, { force: true });
  copyFileSync(nodeBinary(target, version, log), out);
  chmodSync(out, 0o755);
  // The Windows node.exe is Authenticode-signed; injecting breaks that signature, so the
  // result is unsigned (sign it with the agency's certificate if policy requires).
  await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  rmSync(work, { recursive: true, force: true });
  return { file: out, bytes: statSync(out).size };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { target: { type: 'string', multiple: true } } });
  const targets = values.target ?? [hostTarget() ?? 'linux-x64'];
  for (const t of targets) {
    if (!isTarget(t)) {
      process.stderr.write(`build:exe: unknown target "${t}" (known: ${TARGETS.join(', ')})\n`);
      process.exit(2);
    }
    const t0 = performance.now();
    const { file, bytes } = await buildExecutable(t, { log: (s) => process.stdout.write(`${s}\n`) });
    process.stdout.write(`${file}: ${(bytes / 1048576).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}

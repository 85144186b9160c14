// Builds the collector as an artifact that runs without a development checkout
// (`npm run build:collector` → dist/canh-collector/ and dist/canh-collector-<version>-<target>.tar.gz):
//   bin/canh-collector                 launcher (sh): runs lib/node on lib/canh-collector.mjs
//   lib/node                           the pinned Node 24 (the project's `node` dependency)
//   lib/canh-collector.mjs             esbuild bundle from collector/src/cli.ts, every import inside
//   lib/assets/<source path>/...       files the sources open beside themselves (mail templates, default rules)
//   lib/node_modules/playwright-core/  PDF reports: drives Debian's chromium; never downloads a browser
//   share/                             install-server.sh with the units, nginx and Grafana files, dashboards it installs
// The bundle starts from the entry point and follows imports, so moving code between
// packages changes nothing here. The host needs neither Node nor node_modules.
import { build, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, DIST } from './bundle.ts';
import { isTarget, nodeBinary, nodeVersion, type Target } from './node-dist.ts';

/** Packages loaded from lib/node_modules instead of the bundle: playwright-core finds its own files on disk. */
export const EXTERNAL_PACKAGES = ['playwright-core'] as const;

export function collectorVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'collector', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Sources that open files beside themselves (`new URL('./x', import.meta.url)`) see, in
 * the bundle, import.meta.url pointing at their own place under lib/assets/; the files
 * of their folder (not code, tests, testdata or READMEs) are copied there.
 */
function assetsPlugin(assetDirs: Set<string>): Plugin {
  return {
    name: 'canh-assets',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(ROOT, args.path);
        assetDirs.add(dirname(rel));
        return {
          contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`./assets/${rel}`)}, import.meta.url).href`),
          loader: 'ts',
        };
      });
    },
  };
}

function copyAssets(assetDirs: Set<string>, libDir: string): string[] {
  const copied: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'testdata' && e.name !== 'node_modules') walk(r);
      } else if (!/\.(ts|md)$/.test(e.name)) {
        mkdirSync(join(libDir, 'assets', rel), { recursive: true });
        cpSync(join(ROOT, r), join(libDir, 'assets', r));
        copied.push(r);
      }
    }
  };
  for (const d of assetDirs) walk(d);
  return copied.sort();
}

export async function bundleCollector(outfile: string): Promise<{ assetDirs: Set<string> }> {
  const assetDirs = new Set<string>();
  await build({
    entryPoints: [join(import.meta.dirname, 'collector-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // ws and pino are CommonJS and require Node's built-ins: give the ES module a require.
    banner: {
      js: "// canh-collector: bundle of collector/src/cli.ts, built by deploy/build/collector.ts\nimport { createRequire as __canhCreateRequire } from 'node:module';\nconst require = __canhCreateRequire(import.meta.url);",
    },
    // bufferutil and utf-8-validate are native speed-ups ws tries inside try/catch; ws works without them.
    external: [...EXTERNAL_PACKAGES, 'bufferutil', 'utf-8-validate'],
    define: { 'import.meta.main': 'false' },
    plugins: [assetsPlugin(assetDirs)],
    legalComments: 'linked',
    minifySyntax: true,
    minifyWhitespace: true,
    sourcemap: false,
    logLevel: 'error',
  });
  return { assetDirs };
}

function launcher(): string {
  return `#!/bin/sh
# canh-collector: runs the collector bundle on the Node that ships with it (lib/node),
# whatever node the host has (none, or Debian's 20).
here=$(dirname "$(readlink -f "$0")")
exec "$here/../lib/node" "$here/../lib/canh-collector.mjs" "$@"
`;
}

/** What an installation needs besides the program (install-server.sh reads them from share/): [source, share/ path]. */
const SHARE: [string, string][] = [
  ['deploy/install-server.sh', 'install-server.sh'],
  ['deploy/systemd', 'systemd'],
  ['deploy/nginx', 'nginx'],
  ['deploy/grafana', 'grafana'],
  ['deploy/collector.example.yaml', 'collector.example.yaml'],
  // Generated by `npm run dashboards:generate` and committed.
  ['dashboards/generated', 'dashboards'],
];

export async function buildCollector(
  opts: { target?: Target; outDir?: string; log?: (s: string) => void } = {},
): Promise<{ dir: string; tarball: string; bytes: number }> {
  const log = opts.log ?? (() => {});
  const target = opts.target ?? 'linux-x64';
  const outDir = opts.outDir ?? DIST;
  const dir = join(outDir, 'canh-collector');
  rmSync(dir, { recursive: true, force: true });
  const lib = join(dir, 'lib');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(lib, { recursive: true });

  const { assetDirs } = await bundleCollector(join(lib, 'canh-collector.mjs'));
  const assets = copyAssets(assetDirs, lib);
  log(`bundle: ${(statSync(join(lib, 'canh-collector.mjs')).size / 1024).toFixed(0)} KiB, assets: ${assets.length} files`);

  for (const pkg of EXTERNAL_PACKAGES) {
    const src = realpathSync(join(ROOT, 'node_modules', pkg));
    cpSync(src, join(lib, 'node_modules', pkg), { recursive: true, dereference: true });
  }

  // The pinned Node: the project's own binary when it is for this target, else the official one.
  const version = nodeVersion();
  const hostIsTarget = `${process.platform}-${process.arch}` === target;
  const node = hostIsTarget && process.versions.node === version ? realpathSync(process.execPath) : nodeBinary(target, version, log);
  cpSync(node, join(lib, 'node'));
  chmodSync(join(lib, 'node'), 0o755);

  writeFileSync(join(dir, 'bin', 'canh-collector'), launcher(), { mode: 0o755 });
  for (const [from, to] of SHARE) {
    if (!existsSync(join(ROOT, from))) throw new Error(`build:collector: ${from} is missing`);
    cpSync(join(ROOT, from), join(dir, 'share', to), { recursive: true });
  }
  writeFileSync(join(dir, 'VERSION'), `canh-collector ${collectorVersion()} ${target} node ${version}\n`);

  const tarball = join(outDir, `canh-collector-${collectorVersion()}-${target}.tar.gz`);
  rmSync(tarball, { force: true });
  // Owner root and stable order: the tarball is laid into / by install-server.sh.
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-czf', tarball, '-C', outDir, 'canh-collector']);
  return { dir, tarball, bytes: statSync(tarball).size };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { target: { type: 'string' }, out: { type: 'string' } } });
  const target = values.target ?? `${process.platform}-${process.arch}`;
  if (!isTarget(target) || target.startsWith('win')) {
    process.stderr.write(`build:collector: target "${target}" is not linux-x64 or linux-arm64\n`);
    process.exit(2);
  }
  const t0 = performance.now();
  const r = await buildCollector({ target, ...(values.out ? { outDir: values.out } : {}), log: (s) => process.stdout.write(`${s}\n`) });
  process.stdout.write(`${r.tarball}: ${(r.bytes / 1048576).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

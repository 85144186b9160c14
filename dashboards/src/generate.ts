// Writes every dashboard to dashboards/generated/<lang>/<name>.json, where Grafana's file
// provisioning (deploy/grafana/provisioning/dashboards/canh.yaml) picks them up.
// Run: npm run dashboards:generate
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards, renderDashboard } from './index.ts';

export const GENERATED_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'generated');

function main(): void {
  const all = buildDashboards();
  // Start clean so a dashboard removed from the code disappears from Grafana too.
  rmSync(GENERATED_DIR, { recursive: true, force: true });
  for (const g of all) {
    const dir = join(GENERATED_DIR, g.lang);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, g.file), renderDashboard(g.dashboard));
  }
  for (const lang of readdirSync(GENERATED_DIR)) console.log(`${lang}: ${readdirSync(join(GENERATED_DIR, lang)).join(', ')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

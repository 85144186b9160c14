// HTML to A4 PDF through the system's headless Chromium (Debian `chromium`), driven by
// playwright-core. Playwright never downloads a browser here: the executable is given,
// the profile is a fresh temp dir removed afterwards, and Chromium's background network
// features are off, so printing a report talks to nothing.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanhError } from '@canh/core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface PdfOptions {
  /** Default $CANH_CHROMIUM or /usr/bin/chromium. */
  executablePath?: string;
  timeoutMs?: number;
}

export async function htmlToPdf(html: string, opts: PdfOptions = {}): Promise<Buffer> {
  const executablePath = opts.executablePath ?? process.env.CANH_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new CanhError(
      'CANH_ERR_REPORT_NO_CHROMIUM',
      `PDF output needs Chromium at ${executablePath}: install the Debian package "chromium", set CANH_CHROMIUM, or use --format html`,
    );
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'canh-report-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      offline: true,
      timeout: opts.timeoutMs ?? 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // The report is self-contained; anything it would fetch is a bug, not a resource.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(html, { waitUntil: 'load', timeout: opts.timeoutMs ?? 60_000 });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } catch (err) {
    if (err instanceof CanhError) throw err;
    throw new CanhError('CANH_ERR_REPORT_PDF', `Chromium could not print the report: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

// Debian's Chromium driven by playwright-core (never a downloaded browser), headless,
// with the flags that keep it off the network: this sandbox refuses outside traffic.
// playwright gives each launch a fresh, empty profile of its own.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CANH_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

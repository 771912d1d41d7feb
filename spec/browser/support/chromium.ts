// Debian's Chromium, driven by playwright-core (which never downloads a browser of its own).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here, or undefined when they can. Under CI=true a missing
 * Chromium is a failure, not a skip (see requireChromium).
 */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
}

/** A `describe` that runs when Chromium is installed; skipped with the reason otherwise, and failing under CI. */
export function describeWithChromium(name: string, body: () => void): void {
  const missing = chromiumMissing();
  if (missing === undefined) return describe(name, body);
  if (process.env.CI === 'true') {
    describe(name, () => it('needs Chromium', () => { throw new Error(`CI=true and ${missing}`); }));
    return;
  }
  console.warn(`skipping "${name}": ${missing}`);
  describe.skip(`${name} (skipped: ${missing})`, body);
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'walstream-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

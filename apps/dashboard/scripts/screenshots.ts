/**
 * `pnpm screenshots`: the README's pictures of the delivery console, taken in Chromium from
 * a real fleet (the browser test's scenario: an active, a deferred, a failed and a completed
 * delivery), not drawn. Writes docs/images/console-*.png at the repository root.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startTestRedis } from '@upload-fleet/testkit';
import { CHROMIUM_PATH } from '../test/chromium.js';
import { LOGIN } from '../test/console-scenario.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/images');
mkdirSync(out, { recursive: true });

const redis = await startTestRedis();
process.env.TEST_REDIS_URL = redis.url;
// Imported after TEST_REDIS_URL is set: the scenario reads it.
const { startConsoleScenario } = await import('../test/console-scenario.js');
const scenario = await startConsoleScenario();
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ httpCredentials: { username: LOGIN.name, password: LOGIN.password }, viewport: { width: 1200, height: 640 } });
  const page = await context.newPage();
  const shoot = async (path: string, name: string) => {
    await page.goto(`${scenario.dashboard.url}console${path}`);
    await page.screenshot({ path: join(out, `console-${name}.png`), fullPage: true });
    process.stdout.write(`docs/images/console-${name}.png\n`);
  };
  await shoot('', 'deliveries');
  await shoot(`/deliveries/${scenario.tokens.active}`, 'delivery-active');
  await shoot(`/deliveries/${scenario.tokens.failed}`, 'delivery-failed');
  await shoot('/limits', 'limits');
  await shoot('/pools', 'pools');
} finally {
  await browser.close();
  await scenario.close();
  await redis.dispose();
}

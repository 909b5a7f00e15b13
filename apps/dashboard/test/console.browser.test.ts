/**
 * The delivery console in a real browser: Playwright (playwright-core) driving Debian's
 * chromium (scripts/bootstrap installs it), against a real fleet (console-scenario.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from './chromium.js';
import { LOGIN, SECRETS, startConsoleScenario, type ConsoleScenario } from './console-scenario.js';

let scenario: ConsoleScenario;
let browser: Browser;
let context: BrowserContext;
/** Every page's HTML and every answer the browser and the test fetched, to search for secrets. */
const seen: { url: string; body: string }[] = [];

beforeAll(async () => {
  scenario = await startConsoleScenario();
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
  context = await browser.newContext({ httpCredentials: { username: LOGIN.name, password: LOGIN.password }, viewport: { width: 1280, height: 900 } });
  context.on('response', (response) => {
    void response
      .text()
      .then((body) => seen.push({ url: response.url(), body }))
      .catch(() => undefined);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await scenario?.close();
});

const consoleUrl = (path = '') => `${scenario.dashboard.url}console${path}`;

async function open(path: string): Promise<Page> {
  const page = await context.newPage();
  const response = await page.goto(consoleUrl(path));
  expect(response?.status(), path).toBe(200);
  seen.push({ url: page.url(), body: await page.content() });
  return page;
}

describe('the delivery console in Chromium', () => {
  it('asks for the dashboard login: no page or answer without it', async () => {
    const anonymous = await browser.newContext();
    for (const path of ['', '/limits', '/pools', `/deliveries/${scenario.tokens.completed}`, '/api/deliveries', '/api/limits']) {
      const response = await anonymous.request.get(consoleUrl(path));
      expect(response.status(), path).toBe(401);
    }
    await anonymous.close();
  });

  it('lists the deliveries newest first, each with its state, and filters by state, destination, time and search', async () => {
    const page = await open('');
    const tokens = await page.locator('tbody tr[data-token]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-token')));
    const { active, deferred, failed, completed, cancelled } = scenario.tokens;
    expect(tokens).toEqual([cancelled, active, deferred, failed, completed]);
    const stateOf = (token: string) => page.locator(`tr[data-token="${token}"] td:nth-child(2)`).innerText();
    expect(await stateOf(completed)).toBe('completed');
    expect(await stateOf(failed)).toBe('failed');
    expect(await stateOf(cancelled)).toBe('cancelled');
    expect(await stateOf(active)).toBe('in progress');
    expect(await page.locator(`tr[data-token="${active}"] [role=progressbar]`).count()).toBe(1);

    await page.selectOption('select[name=state]', 'failed');
    await page.click('button[type=submit]');
    await page.waitForURL(/state=failed/);
    expect(await page.locator('tbody tr[data-token]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-token')))).toEqual([failed]);

    const search = await open('?q=initech');
    expect(await search.locator('tbody tr[data-token]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-token')))).toEqual([cancelled, deferred]);
    const byToken = await open(`?q=${completed.slice(0, 14)}`);
    expect(await byToken.locator('tbody tr[data-token]').count()).toBeGreaterThanOrEqual(1);
    expect(await byToken.locator(`tr[data-token="${completed}"]`).count()).toBe(1);
    const future = await open('?from=2999-01-01T00:00');
    expect(await future.locator('tbody tr[data-token]').count()).toBe(0);
    const byType = await open('?type=s3');
    expect(await byType.locator('tbody tr[data-token]').count()).toBe(0);
    expect(await (await open('?type=http')).locator('tbody tr[data-token]').count()).toBe(5);
  });

  it('shows an active upload with live progress, and the page follows it to completion without a reload', async () => {
    const page = await open(`/deliveries/${scenario.tokens.active}`);
    const upload = page.locator('.upload[data-index="0"]');
    expect(await upload.getAttribute('data-state')).toBe('active');
    const percent = Number(await upload.locator('[role=progressbar]').getAttribute('aria-valuenow'));
    expect(percent).toBeGreaterThan(0);
    expect(percent).toBeLessThan(100);
    expect(await upload.innerText()).toMatch(/Attempts\s+1 of 3/);
    // Bull Board, in the same browser: a progress bar for the job, which stores bytes, not a number.
    const board = await context.newPage();
    await board.goto(`${scenario.dashboard.url}queue/upload-http/${scenario.tokens.active}-0`);
    await board.locator('[class*="progress"][role="progressbar"], [class*="progress"] svg').first().waitFor({ timeout: 15_000 });
    seen.push({ url: board.url(), body: await board.content() });
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    scenario.releaseActive();
    await page.locator('.upload[data-index="0"][data-state="completed"]').waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
    expect(await page.locator('#live').getAttribute('data-final')).toBe('true');
    expect(await page.locator('.upload[data-index="0"]').innerText()).toMatch(/Result URL/);
    seen.push({ url: page.url(), body: await page.content() });
  });

  it('shows a deferred upload with its reason, run time and limit key', async () => {
    const page = await open(`/deliveries/${scenario.tokens.deferred}`);
    const text = await page.locator('.upload[data-index="0"]').innerText();
    expect(text).toMatch(/rate limited until \d{4}-\d\d-\d\d \d\d:\d\d/);
    expect(text).toContain('limit key localhost:');
    expect(text).toContain('UF_RATE_LIMITED');
    const runAt = Date.parse((await page.locator('.upload[data-index="0"] dd time').first().getAttribute('datetime'))!);
    expect(runAt).toBeGreaterThan(Date.now() + 30 * 60_000);

    // Bull Board states the run time instead of "Delay changed; the new run time is currently unknown".
    const board = await context.newPage();
    await board.goto(`${scenario.dashboard.url}queue/upload-http?status=delayed`);
    await board.getByText(/will run at/i).first().waitFor({ timeout: 15_000 });
    expect(await board.getByText(/Delay changed/i).count()).toBe(0);
    seen.push({ url: board.url(), body: await board.content() });
  });

  it('shows a failed upload with its code, message, what to do and the endpoint\'s answer', async () => {
    const page = await open(`/deliveries/${scenario.tokens.failed}`);
    const error = await page.locator('.upload[data-index="0"] .error').innerText();
    expect(error).toMatch(/UF_[A-Z_]+/);
    expect(error).toMatch(/What to do: \S+/);
    expect(error).toContain('filename must end in .mov');
    expect(await page.locator('.upload[data-index="0"]').innerText()).toMatch(/Attempts\s+1 of 3/);
    expect(await page.locator('.upload[data-index="0"]').getAttribute('data-state')).toBe('failed');
  });

  it('shows a completed delivery with its result URL and the webhook delivered; a cancelled one stays visible', async () => {
    const page = await open(`/deliveries/${scenario.tokens.completed}`);
    expect(await page.locator('.upload[data-index="0"]').innerText()).toMatch(/Result URL\s+http:\/\/127\.0\.0\.1:\d+\/ok/);
    const webhook = await page.locator('h2:has-text("Webhook") + .card').innerText();
    expect(webhook).toMatch(/delivered/);
    expect(webhook).toMatch(/HTTP 2\d\d/);
    const cancelled = await open(`/deliveries/${scenario.tokens.cancelled}`);
    expect(await cancelled.locator('.upload[data-index="0"]').getAttribute('data-state')).toBe('cancelled');
  });

  it('shows the fleet-wide limits per account: used, remaining and reset per window, the paused key with its reason', async () => {
    const page = await open('/limits');
    const rows = page.locator('tbody tr');
    const localhost = rows.filter({ hasText: 'localhost:' });
    const loopback = rows.filter({ hasText: '127.0.0.1:' });
    expect(await localhost.innerText()).toMatch(/paused\s+until \d{4}-/);
    expect(await localhost.innerText()).toContain('UF_RATE_LIMITED');
    const windows = await loopback.innerText();
    expect(windows).toMatch(/3 \/ 50 per 1 h · 47 left · next slot \d{4}-/);
    expect(windows).toMatch(/3 \/ 400 per 1 d · 397 left/);
  });

  it('shows per-pool throughput and failure rate over the last hour', async () => {
    const page = await open('/pools');
    const http = page.locator('tr[data-queue="upload-http"]');
    const cells = await http.locator('td').allInnerTexts();
    expect(cells[1]).toBe('2');
    expect(cells[2]).toBe('1');
    expect(cells[3]).toBe('33.3%');
    expect(await page.locator('tr[data-queue="upload-s3"] td').nth(3).innerText()).toBe('–');
  });

  it('answers the same as JSON, and no planted secret appears in any page or answer', async () => {
    const api = context.request;
    for (const path of ['/api/deliveries', '/api/limits', '/api/pools', ...Object.values(scenario.tokens).map((t) => `/api/deliveries/${t}`)]) {
      const response = await api.get(consoleUrl(path));
      expect(response.status(), path).toBe(200);
      seen.push({ url: path, body: await response.text() });
    }
    const detail = (await (await api.get(consoleUrl(`/api/deliveries/${scenario.tokens.failed}`))).json()) as { status: { uploads: { error: { details: string } }[] } };
    expect(detail.status.uploads[0]!.error.details).toContain('filename must end in .mov');
    // The secrets really were sent: the receiver echoed one, the jobs carry the rest (encrypted).
    expect(seen.length).toBeGreaterThan(15);
    for (const { url, body } of seen) {
      for (const secret of Object.values(SECRETS)) expect(body, `${url} shows ${secret}`).not.toContain(secret);
    }
  });
});

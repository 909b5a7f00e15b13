import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { FleetLimiter } from './fleet-limiter.js';
import { parseLimitRules } from './rules.js';

describe('FleetLimiter', () => {
  const url = testRedisUrl();
  const prefix = uniquePrefix('limits');
  let redis: Redis;
  let limiter: FleetLimiter;

  beforeAll(() => {
    redis = new Redis(url);
    limiter = new FleetLimiter({
      connection: redis,
      prefix,
      leaseTtlMs: 1000,
      rules: parseLimitRules(
        JSON.stringify({
          youtube: { windows: ['3/1s', '5/10s'] },
          dropbox: { concurrency: 2, windows: [] },
          http: { windows: ['1/1h'], keys: { 'free.example': { windows: [] } } },
        }),
        {},
      ),
    });
  });
  afterAll(async () => {
    await deletePrefix(url, prefix);
    redis.disconnect();
  });

  it('allows as many starts as the window holds, then says how long to wait', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.acquire('youtube', 'channel-a', `job-${i}`));
    expect(results.slice(0, 3).every((r) => r.allowed)).toBe(true);
    const refused = results[3]!;
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) {
      expect(refused.reason).toBe('window');
      expect(refused.waitMs).toBeGreaterThan(0);
      expect(refused.waitMs).toBeLessThanOrEqual(1000);
    }
  });

  it('keeps separate budgets per key', async () => {
    expect((await limiter.acquire('youtube', 'channel-b', 'x')).allowed).toBe(true);
  });

  it('applies the tightest of several windows', async () => {
    // channel-c: 3 per second and 5 per 10 s: after two seconds of waiting only 5 have started.
    const started: number[] = [];
    const deadline = Date.now() + 2500;
    let i = 0;
    while (Date.now() < deadline) {
      const decision = await limiter.acquire('youtube', 'channel-c', `c-${i++}`);
      if (decision.allowed) started.push(Date.now());
      else await sleep(Math.min(decision.waitMs, 100));
    }
    expect(started).toHaveLength(5);
  });

  it('counts a repeated request of the same attempt once', async () => {
    await limiter.acquire('http', 'once.example', 'same');
    expect((await limiter.acquire('http', 'once.example', 'same')).allowed).toBe(true);
    expect((await limiter.acquire('http', 'once.example', 'other')).allowed).toBe(false);
  });

  it('lets a key override its type\'s rules', async () => {
    for (let i = 0; i < 5; i++) expect((await limiter.acquire('http', 'free.example', `f-${i}`)).allowed).toBe(true);
  });

  it('gives a slot back for an upload that never reached the platform', async () => {
    const first = await limiter.acquire('http', 'giveback.example', 'a');
    expect(first.allowed).toBe(true);
    expect((await limiter.acquire('http', 'giveback.example', 'b')).allowed).toBe(false);
    if (first.allowed) await first.permit.giveBack();
    expect((await limiter.acquire('http', 'giveback.example', 'b')).allowed).toBe(true);
  });

  it('caps concurrency with leases that lapse when their holder stops renewing', async () => {
    const a = await limiter.acquire('dropbox', 'acct', 'a');
    const b = await limiter.acquire('dropbox', 'acct', 'b');
    const c = await limiter.acquire('dropbox', 'acct', 'c');
    expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false]);
    if (!c.allowed) expect(c.reason).toBe('concurrency');
    // a renews, b "dies": after the lease time only b's slot is free.
    await sleep(600);
    if (a.allowed) await a.permit.renew();
    await sleep(600);
    expect((await limiter.acquire('dropbox', 'acct', 'c')).allowed).toBe(true);
    expect((await limiter.acquire('dropbox', 'acct', 'd')).allowed).toBe(false);
    if (a.allowed) await a.permit.release();
    expect((await limiter.acquire('dropbox', 'acct', 'd')).allowed).toBe(true);
  });

  it('pauses every key of a destination type when the platform\'s limit is type-wide', async () => {
    await limiter.pauseDestination('ftp', 300);
    const decisions = await Promise.all(['host-a', 'host-b'].map((key) => limiter.acquire('ftp', key, 'm')));
    expect(decisions.map((d) => d.allowed)).toEqual([false, false]);
    expect((await limiter.acquire('http', 'host-a', 'm')).allowed).toBe(true);
    await sleep(350);
    expect((await limiter.acquire('ftp', 'host-a', 'm')).allowed).toBe(true);
  });

  it('pauses one key for everyone, and only that key', async () => {
    await limiter.pause('facebook', 'page-1', 400);
    const paused = await limiter.acquire('facebook', 'page-1', 'p');
    expect(paused.allowed).toBe(false);
    if (!paused.allowed) {
      expect(paused.reason).toBe('paused');
      expect(paused.waitMs).toBeLessThanOrEqual(400);
    }
    expect((await limiter.acquire('facebook', 'page-2', 'p')).allowed).toBe(true);
    // A shorter pause never cuts a longer one short.
    await limiter.pause('facebook', 'page-1', 10);
    expect((await limiter.acquire('facebook', 'page-1', 'p')).allowed).toBe(false);
    await sleep(450);
    expect((await limiter.acquire('facebook', 'page-1', 'p')).allowed).toBe(true);
  });

  it('snapshot: used, remaining and reset per window, leases held, pauses with their reason; writes nothing', async () => {
    const own = new FleetLimiter({
      connection: redis,
      prefix: `${prefix}:snapshot`,
      leaseTtlMs: 60_000,
      rules: parseLimitRules(JSON.stringify({ youtube: { windows: ['50/1h', '400/24h'] }, dropbox: { concurrency: 1, windows: [] } }), {}),
    });
    for (let i = 0; i < 3; i++) expect((await own.acquire('youtube', 'UC-channel:1', `job-${i}:1`)).allowed).toBe(true);
    const lease = await own.acquire('dropbox', 'dbid:abc', 'job-d:1', 'job-d');
    expect(lease.allowed).toBe(true);
    await own.pause('youtube', 'UC-channel:1', 60_000, 'UF_RATE_LIMITED: quotaExceeded');
    await own.pauseDestination('facebook', 30_000, 'UF_RATE_LIMITED: app-wide limit');
    const before = await dumpKeys(`${prefix}:snapshot`);

    const snapshot = await own.snapshot();
    expect(await dumpKeys(`${prefix}:snapshot`)).toEqual(before);
    const youtube = snapshot.find((s) => s.type === 'youtube')!;
    expect(youtube.key).toBe('UC-channel:1');
    expect(youtube.windows.map((w) => [w.window_ms, w.limit, w.used, w.remaining])).toEqual([
      [3_600_000, 50, 3, 47],
      [86_400_000, 400, 3, 397],
    ]);
    const hourReset = Date.parse(youtube.windows[0]!.resets_at!);
    expect(hourReset).toBeGreaterThan(Date.now() + 3_500_000);
    expect(youtube.paused?.reason).toBe('UF_RATE_LIMITED: quotaExceeded');
    expect(Date.parse(youtube.paused!.until)).toBeGreaterThan(Date.now() + 50_000);
    const dropbox = snapshot.find((s) => s.type === 'dropbox')!;
    expect(dropbox).toMatchObject({ key: 'dbid:abc', concurrency: 1, leases: [{ holder: 'job-d' }] });
    const facebook = snapshot.find((s) => s.type === 'facebook')!;
    expect(facebook.key).toBeUndefined();
    expect(facebook.paused?.reason).toBe('UF_RATE_LIMITED: app-wide limit');

    if (lease.allowed) await lease.permit.release();
    expect((await own.snapshot()).find((s) => s.type === 'dropbox')?.leases ?? []).toEqual([]);
  });

  async function dumpKeys(keyPrefix: string): Promise<string[]> {
    const keys = (await redis.keys(`${keyPrefix}:*`)).sort();
    return Promise.all(keys.map(async (k) => `${k}=${JSON.stringify(await redis.dump(k))}`));
  }
});

import { describe, expect, it } from 'vitest';
import { keyLayout, parsePoolShards, shardFor, shardsOf } from './key-layout.js';

describe('pool shards', () => {
  it('names shard n > 0 of a pool with its own queue and hash tag; shard 0 keeps the pool\'s names', () => {
    const spread = keyLayout('uf', { cluster: true });
    expect([0, 1, 2].map((n) => spread.queueKeyBase('s3', n))).toEqual(['{uf:s3}:upload-s3', '{uf:s3:1}:upload-s3-1', '{uf:s3:2}:upload-s3-2']);
    const single = keyLayout('uf', { cluster: false });
    expect([0, 1].map((n) => single.queueKeyBase('s3', n))).toEqual(['uf:upload-s3', 'uf:upload-s3-1']);
  });

  it('places an account on the same shard in every process and version (FNV-1a of the limit key)', () => {
    // Pinned (FNV-1a 32 computed independently): a change here moves every account's new uploads away from its waiting ones.
    expect(['bucket-a', 'example.com:443', 'credential:0123456789abcdef', ''].map((account) => shardFor({ http: 7 }, 'http', account))).toEqual([4, 0, 0, 2]);
    expect(shardFor({ http: 7 }, 's3', 'bucket-a')).toBe(0);
    expect(shardsOf({ http: 3 }, 'http')).toEqual([0, 1, 2]);
    expect(shardsOf({ http: 3 }, 's3')).toEqual([0]);
  });

  it('spreads many accounts over every shard', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardFor({ s3: 4 }, 's3', `bucket-${i}`)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('reads POOL_SHARDS, naming each wrong entry', () => {
    expect(parsePoolShards('s3:4, http:2,')).toEqual({ shards: { s3: 4, http: 2 }, problems: [] });
    expect(parsePoolShards('').shards).toEqual({});
    const { problems } = parsePoolShards('s3:0,http,ftp:65,s3:2,tiktok:2', ['s3', 'http', 'ftp']);
    expect(problems).toEqual([
      '"s3:0" is not <type>:<shards> with 1 to 64 shards (like "s3:4,http:2")',
      '"http" is not <type>:<shards> with 1 to 64 shards (like "s3:4,http:2")',
      '"ftp:65" is not <type>:<shards> with 1 to 64 shards (like "s3:4,http:2")',
      '"tiktok:2" names no destination type (known: s3, http, ftp)',
    ]);
    expect(parsePoolShards('s3:2,s3:3').problems).toEqual(['"s3:3": s3 is named twice']);
  });
});

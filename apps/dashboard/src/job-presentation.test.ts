import { describe, expect, it } from 'vitest';
import { presentProgress, presentRunAt, runAtOfDelayedScore, stripServerPaths } from './job-presentation.js';

describe('stripServerPaths', () => {
  it.each([
    ['    at upload (/srv/app/packages/runtime/src/upload-processor.ts:120:9)', '    at upload (upload-processor.ts:120:9)'],
    ['    at file:///srv/app/node_modules/.pnpm/bullmq@6.7.6/dist/esm/classes/job.js:492:23', '    at job.js:492:23'],
    ['    at async /home/ci/work/x.js:1', '    at async x.js:1'],
    ['[UF_SOURCE_NOT_FOUND] ENOENT at /srv/renders/lib/read.js:3:1', '[UF_SOURCE_NOT_FOUND] ENOENT at read.js:3:1'],
  ])('%s', (line, shown) => expect(stripServerPaths(line)).toBe(shown));

  it('leaves URLs and paths without a source location alone', () => {
    for (const text of ['GET https://cdn.example.com/a/b.js:1:2 failed', 'PUT /bucket/renders/welcome.mp4 answered 403', '    at async Promise.all (index 0)']) {
      expect(stripServerPaths(text)).toBe(text);
    }
  });
});

describe('presentProgress and presentRunAt', () => {
  it('adds the percentage Bull Board draws, keeping the bytes', () => {
    expect(presentProgress({ bytes_sent: 1, bytes_total: 3 })).toEqual({ progress: 33, bytes_sent: 1, bytes_total: 3 });
    expect(presentProgress({ bytes_sent: 0, bytes_total: 0 })).toEqual({ bytes_sent: 0, bytes_total: 0 });
    expect(presentProgress(42)).toBe(42);
  });

  it('states delay and opts.delay so that timestamp + delay is the delayed set\'s run time', () => {
    const runAt = 1_800_000_000_000;
    expect(runAtOfDelayedScore(String(runAt * 0x1000 + 7))).toBe(runAt);
    expect(runAtOfDelayedScore(null)).toBeUndefined();
    expect(presentRunAt({ timestamp: runAt - 5_000, delay: 2_000, opts: { attempts: 5 } }, runAt)).toEqual({ timestamp: runAt - 5_000, delay: 5_000, opts: { attempts: 5, delay: 5_000 } });
  });
});

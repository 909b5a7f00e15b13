import { describe, expect, it } from 'vitest';
import { webdavDestinationSchema } from './definition.js';

const valid = { type: 'webdav', url: 'https://dav.example.com/files/', filename: 'videos/a.mp4' };
const problems = (input: Record<string, unknown>) =>
  (webdavDestinationSchema.safeParse({ ...valid, ...input }).error?.issues ?? []).map((issue) => ({ path: issue.path.join('.'), message: issue.message }));

describe('webdav destination schema', () => {
  it('fills in the defaults: overwrite true, no headers', () => {
    expect(webdavDestinationSchema.parse(valid)).toEqual({ ...valid, headers: {}, overwrite: true });
  });

  it.each([
    [{ url: 'ftp://dav.example.com/' }, 'url', 'http:// or https://'],
    [{ url: 'https://me:pw@dav.example.com/' }, 'url', 'give them as user and password'],
    [{ url: 'https://dav.example.com/files/?x=1' }, 'url', 'without a query string'],
    [{ filename: 'videos/../a.mp4' }, 'filename', '".."'],
    [{ filename: 'videos/' }, 'filename', 'must name a file'],
    [{ filename: '' }, 'filename', 'must not be empty'],
    [{ filename: 'a\nb.mp4' }, 'filename', 'control characters'],
    [{ password: 'pw' }, 'user', 'password needs user'],
    [{ overwrite: 'no' }, 'overwrite', 'true (replace an existing file) or false'],
    [{ headers: { 'X-A': 'a\r\nX-B: b' } }, 'headers.X-A', 'line breaks'],
  ])('refuses %o, naming %s', (input, path, message) => {
    expect(problems(input)).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it('lists every problem at once', () => {
    expect(problems({ url: 'nope', filename: 'a/../b', password: 'pw' }).map((p) => p.path).sort()).toEqual(['filename', 'url', 'user']);
  });
});

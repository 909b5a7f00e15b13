import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { tempName, truncateUtf8, uploadPaths, type UploadIdentity } from './paths.js';

const identity = (filename: string, overrides: Partial<UploadIdentity> = {}): UploadIdentity => ({
  hostname: 'ftp.example.com',
  port: 21,
  user: 'alice',
  filename,
  sourceSize: 1000,
  sourceDescription: 'renders/welcome.mp4',
  ...overrides,
});

describe('uploadPaths', () => {
  it.each([
    ['/videos/welcome.mp4', '/videos', '/videos/.welcome.mp4.uploading-'],
    ['videos/2024/welcome.mp4', 'videos/2024', 'videos/2024/.welcome.mp4.uploading-'],
    ['welcome.mp4', '', '.welcome.mp4.uploading-'],
    ['/welcome.mp4', '/', '/.welcome.mp4.uploading-'],
    ['/a b/ c.mp4', '/a b', '/a b/. c.mp4.uploading-'],
  ])('%s: folder %j, temporary file beside it', (filename, folder, tempPrefix) => {
    const paths = uploadPaths(filename, identity(filename));
    expect(paths.folder).toBe(folder);
    expect(paths.final).toBe(filename);
    expect(paths.temp.startsWith(tempPrefix)).toBe(true);
    expect(paths.temp).toMatch(/\.uploading-[0-9a-f]{16}$/);
  });

  it('gives the same upload the same temporary name, and another upload another', () => {
    const name = (overrides: Partial<UploadIdentity> = {}) => uploadPaths('/v/a.mp4', identity('/v/a.mp4', overrides)).temp;
    expect(name()).toBe(name());
    for (const other of [{ hostname: 'other.example.com' }, { port: 2121 }, { user: 'bob' }, { user: undefined }, { sourceSize: 1001 }, { sourceDescription: 'renders/other.mp4' }]) {
      expect(name(other)).not.toBe(name());
    }
  });

  it.each(['/videos/', '/videos/.', 'x/..', ''])('refuses %j, which names no file', (filename) => {
    expect(() => uploadPaths(filename, identity(filename))).toThrow(FleetError);
  });

  it('refuses line breaks, which would end the FTP command early', () => {
    expect(() => uploadPaths('/a.mp4\r\nDELE /b', identity('/a'))).toThrow(/line break/);
  });
});

describe('tempName', () => {
  it('keeps long names under the 255-byte limit of file names', () => {
    const long = `${'é'.repeat(200)}.mp4`;
    const name = tempName(long, identity(long));
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.startsWith('.é')).toBe(true);
  });
});

describe('truncateUtf8', () => {
  it('never splits a character', () => {
    expect(truncateUtf8('aé✓😀', 1)).toBe('a');
    expect(truncateUtf8('aé✓😀', 2)).toBe('a');
    expect(truncateUtf8('aé✓😀', 3)).toBe('aé');
    expect(truncateUtf8('aé✓😀', 9)).toBe('aé✓');
    expect(truncateUtf8('aé✓😀', 10)).toBe('aé✓😀');
  });
});

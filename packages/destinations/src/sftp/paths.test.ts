import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { folderChain, sftpPaths, type SftpUploadIdentity } from './paths.js';

const identity: SftpUploadIdentity = { server: 'sftp.example.com', user: 'u', filename: '/videos/a.mp4', sourceSize: 10, sourceDescription: 'a.mp4' };

describe('sftpPaths', () => {
  it('puts a hidden temporary name in the same folder, the same for the same upload', () => {
    const paths = sftpPaths('/videos/a.mp4', identity);
    expect(paths.folder).toBe('/videos');
    expect(paths.temp).toMatch(/^\/videos\/\.a\.mp4\.uploading-[0-9a-f]{16}$/);
    expect(sftpPaths('/videos/a.mp4', identity).temp).toBe(paths.temp);
    expect(sftpPaths('/videos/a.mp4', { ...identity, sourceSize: 11 }).temp).not.toBe(paths.temp);
    expect(sftpPaths('a.mp4', identity)).toMatchObject({ folder: '' });
    expect(sftpPaths('a.mp4', identity).temp).toMatch(/^\.a\.mp4\.uploading-/);
    expect(sftpPaths('/a.mp4', identity)).toMatchObject({ folder: '/' });
  });

  it('keeps temporary names under 255 bytes, without splitting a character', () => {
    const temp = sftpPaths(`/v/${'ü'.repeat(200)}.mp4`, identity).temp.slice(3);
    expect(Buffer.byteLength(temp)).toBeLessThan(255);
    expect(temp).not.toContain('\uFFFD');
  });

  it.each(['/videos/', '/videos/..', '.'])('refuses %j, which names a folder', (filename) => {
    expect(() => sftpPaths(filename, identity)).toThrow(FleetError);
  });
});

describe('folderChain', () => {
  it('lists the folders to create, outermost first', () => {
    expect(folderChain('/a/b/c')).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(folderChain('a//b/./c')).toEqual(['a', 'a/b', 'a/b/c']);
    expect(folderChain('/')).toEqual([]);
    expect(folderChain('')).toEqual([]);
  });
});

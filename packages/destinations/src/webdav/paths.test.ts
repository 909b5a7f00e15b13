import { describe, expect, it } from 'vitest';
import { uploadPaths } from './paths.js';

const identity = { uploadId: 'tok-0', sourceSize: 10, sourceDescription: 'renders/a.mp4' };

describe('webdav upload paths', () => {
  it('puts the file below the collection, each segment encoded once, and lists the folders outermost first', () => {
    const paths = uploadPaths('https://dav.example.com/files/me', '/shows/week 49/Grüße & co.mp4', identity);
    expect(paths.collection.href).toBe('https://dav.example.com/files/me/');
    expect(paths.parents.map((p) => p.pathname)).toEqual(['/files/me/shows/', '/files/me/shows/week%2049/']);
    expect(paths.final.pathname).toBe('/files/me/shows/week%2049/Gr%C3%BC%C3%9Fe%20%26%20co.mp4');
    expect(paths.display).toBe('shows/week 49/Grüße & co.mp4');
  });

  it('keeps the temporary file in the final file\'s collection, under a name stable per upload and different per source', () => {
    const a = uploadPaths('https://dav.example.com/files/', 'x/a.mp4', identity);
    expect(uploadPaths('https://dav.example.com/files/', 'x/a.mp4', identity).temp.href).toBe(a.temp.href);
    expect(a.temp.pathname).toMatch(/^\/files\/x\/\.a\.mp4\.[0-9a-f]{16}\.upload-fleet-part$/);
    expect(uploadPaths('https://dav.example.com/files/', 'x/a.mp4', { ...identity, sourceSize: 11 }).temp.href).not.toBe(a.temp.href);
    expect(uploadPaths('https://dav.example.com/files/', 'x/a.mp4', { ...identity, uploadId: 'tok-1' }).temp.href).not.toBe(a.temp.href);
  });
});

import { describe, expect, it } from 'vitest';
import { googleDriveDestinationSchema } from './definition.js';

const minimal = { type: 'googledrive', filename: 'welcome.mp4', oauth_access_token: 'ya29.token' };
const problemsOf = (fields: Record<string, unknown>) =>
  (googleDriveDestinationSchema.safeParse({ ...minimal, ...fields }).error?.issues ?? []).map((issue) => ({ path: issue.path.join('.'), message: issue.message }));

describe('googledrive parameters', () => {
  it('takes a folder id as Drive writes it, and "root"', () => {
    expect(problemsOf({ folder_id: '1AbC-d_EfGhIjKlMnOpQrStUvWxYz012' })).toEqual([]);
    expect(problemsOf({ folder_id: 'root' })).toEqual([]);
  });

  it('refuses a folder URL or name instead of its id, saying where the id is', () => {
    for (const folder_id of ['https://drive.google.com/drive/folders/1AbC', 'Renders 2026', '']) {
      expect(problemsOf({ folder_id })).toEqual([{ path: 'folder_id', message: expect.stringContaining('/folders/') }]);
    }
  });

  it('refuses a mimetype that is not type/subtype, and a filename with line breaks', () => {
    expect(problemsOf({ mimetype: 'mp4' })).toEqual([{ path: 'mimetype', message: expect.stringContaining('video/mp4') }]);
    expect(problemsOf({ mimetype: 'video/mp4; codecs="avc1"' })).toEqual([]);
    expect(problemsOf({ filename: 'a\nb.mp4' })).toEqual([{ path: 'filename', message: expect.stringContaining('control characters') }]);
  });

  it('lists every problem at once, the missing credential included', () => {
    const paths = problemsOf({ oauth_access_token: undefined, folder_id: 'no spaces', shared_drive: 'yes' }).map((p) => p.path).sort();
    expect(paths).toEqual(['folder_id', 'oauth_access_token', 'shared_drive']);
  });
});

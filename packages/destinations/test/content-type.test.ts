import { describe, expect, it } from 'vitest';
import { contentTypeFor } from '@upload-fleet/core';
import { destinationSchema, type Destination } from '../src/definitions.js';

/**
 * The rule: the destination's own parameter when it is given; else its spec default where
 * the spec has one (S3/Azure `contenttype`, YouTube `mimetype`); else the request's
 * `extension`; else the destination filename's extension; else application/octet-stream.
 */

const destination = (input: Record<string, unknown>): Destination => destinationSchema.parse(input);

const S3 = { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mov', aws_use_policy: true };
const AZURE = { type: 'azureblob', account: 'mystorageaccount', key: 'your-storage-key', filename: 'renders/welcome.mov' };
const YOUTUBE = { type: 'youtube', title: 'Welcome', description: 'Hi', category: '22', auth_secret: 's' };
const FACEBOOK = { type: 'facebook', title: 'Welcome', description: 'Hi', oauth_access_token: 'EAAB.token' };
const DROPBOX = { type: 'dropbox', filename: 'Videos/welcome.webm', oauth_token: 't' };
const HTTP = { type: 'http', url: 'https://your-server.com/api/videos', filename: 'welcome.webm' };
const FTP = { type: 'ftp', host: 'ftp.example.com', filename: '/videos/welcome.webm' };

describe('contentTypeFor: destinations with their own parameter', () => {
  it.each([
    ['s3 contenttype', { ...S3, contenttype: 'video/quicktime' }, 'video/quicktime'],
    ['azureblob contenttype (the spec example)', { ...AZURE, contenttype: 'video/mp4' }, 'video/mp4'],
    ['youtube mimetype', { ...YOUTUBE, mimetype: 'video/webm' }, 'video/webm'],
  ])('uses the given %s over the extension', (_label, input, expected) => {
    expect(contentTypeFor(destination(input), 'mkv')).toBe(expected);
  });

  it.each([
    ['s3', S3, 'application/octet-stream'],
    ['azureblob', AZURE, 'application/octet-stream'],
    ['youtube', YOUTUBE, 'video/mp4'],
  ])('uses the spec default of %s when the parameter is absent, whatever the extension', (_label, input, expected) => {
    for (const extension of [undefined, 'mp4', 'mov', 'webm']) expect(contentTypeFor(destination(input), extension)).toBe(expected);
  });
});

describe('contentTypeFor: destinations without a content-type parameter', () => {
  it.each([
    ['facebook', FACEBOOK],
    ['dropbox', DROPBOX],
    ['http', HTTP],
    ['ftp', FTP],
  ])('%s takes the type of the request extension', (_label, input) => {
    expect(contentTypeFor(destination(input), 'mp4')).toBe('video/mp4');
    expect(contentTypeFor(destination(input), 'mov')).toBe('video/quicktime');
  });

  it.each([
    ['mp4', 'video/mp4'],
    ['MP4', 'video/mp4'],
    ['m4v', 'video/x-m4v'],
    ['mkv', 'video/x-matroska'],
    ['mpg', 'video/mpeg'],
    ['gif', 'image/gif'],
    ['mp3', 'audio/mpeg'],
  ])('maps extension %s to %s', (extension, expected) => {
    expect(contentTypeFor(destination(HTTP), extension)).toBe(expected);
  });

  it.each([
    ['dropbox', DROPBOX],
    ['http', HTTP],
    ['ftp', FTP],
  ])('%s falls back to the filename when there is no extension, or an unknown one', (_label, input) => {
    expect(contentTypeFor(destination(input))).toBe('video/webm');
    expect(contentTypeFor(destination(input), 'xyz123')).toBe('video/webm');
  });

  it('prefers the request extension over the filename', () => {
    expect(contentTypeFor(destination({ ...FTP, filename: '/videos/welcome.webm' }), 'mp4')).toBe('video/mp4');
  });

  it.each([
    ['facebook (no filename)', FACEBOOK],
    ['http with a filename without extension', { ...HTTP, filename: 'welcome' }],
    ['ftp with an unknown filename extension', { ...FTP, filename: '/videos/welcome.xyz123' }],
  ])('%s ends at application/octet-stream', (_label, input) => {
    expect(contentTypeFor(destination(input))).toBe('application/octet-stream');
    expect(contentTypeFor(destination(input), 'xyz123')).toBe('application/octet-stream');
  });
});

import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from './endpoint.js';
import { encodeKey, isVirtualHostable, objectUrl } from './url.js';

const aws = resolveEndpoint(undefined, undefined);

describe('objectUrl', () => {
  it('has the spec\'s form: http://bucket.s3.amazonaws.com/key, https when secure', () => {
    expect(objectUrl(aws, 'my-videos', 'renders/welcome.mp4', false)).toBe('http://my-videos.s3.amazonaws.com/renders/welcome.mp4');
    expect(objectUrl(aws, 'my-videos', 'renders/welcome.mp4', true)).toBe('https://my-videos.s3.amazonaws.com/renders/welcome.mp4');
  });

  it('names the s3host instead, with the bucket in the path when requests are path-style', () => {
    const regional = resolveEndpoint('s3.eu-central-1.amazonaws.com', undefined);
    expect(objectUrl(regional, 'my-videos', 'a.mp4', true)).toBe('https://my-videos.s3.eu-central-1.amazonaws.com/a.mp4');
    const local = resolveEndpoint('127.0.0.1:9000', undefined);
    expect(objectUrl(local, 'my-videos', 'a.mp4', false)).toBe('http://127.0.0.1:9000/my-videos/a.mp4');
    const forced = resolveEndpoint('s3.eu-central-1.amazonaws.com', true);
    expect(objectUrl(forced, 'my-videos', 'a.mp4', true)).toBe('https://s3.eu-central-1.amazonaws.com/my-videos/a.mp4');
  });

  it('puts buckets that cannot be a host name into the path', () => {
    expect(objectUrl(aws, 'My_Videos', 'a.mp4', false)).toBe('http://s3.amazonaws.com/My_Videos/a.mp4');
    // Dotted names break the *.s3.amazonaws.com certificate over https, not over http.
    expect(objectUrl(aws, 'videos.example.com', 'a.mp4', true)).toBe('https://s3.amazonaws.com/videos.example.com/a.mp4');
    expect(objectUrl(aws, 'videos.example.com', 'a.mp4', false)).toBe('http://videos.example.com.s3.amazonaws.com/a.mp4');
  });
});

describe('encodeKey', () => {
  it.each([
    ['renders/welcome.mp4', 'renders/welcome.mp4'],
    ['renders/my video.mp4', 'renders/my%20video.mp4'],
    ['renders/Grüße aus Köln & co (1) ✓.mp4', 'renders/Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln%20%26%20co%20(1)%20%E2%9C%93.mp4'],
    ['a+b=c?d#e%f', 'a%2Bb%3Dc%3Fd%23e%25f'],
    ['/leading//double/', '/leading//double/'],
    ['日本/動画.mp4', '%E6%97%A5%E6%9C%AC/%E5%8B%95%E7%94%BB.mp4'],
  ])('%s -> %s', (key, encoded) => {
    expect(encodeKey(key)).toBe(encoded);
    expect(encoded.split('/').map(decodeURIComponent).join('/')).toBe(key);
  });
});

describe('isVirtualHostable', () => {
  it.each([
    ['my-videos', false, true],
    ['my.videos', false, true],
    ['my.videos', true, false],
    ['My-Videos', false, false],
    ['my_videos', false, false],
    ['ab', false, false],
    ['192.168.1.1', false, false],
    ['-videos', false, false],
    ['my..videos', false, false],
  ])('%s (secure: %s) -> %s', (bucket, secure, expected) => {
    expect(isVirtualHostable(bucket, secure)).toBe(expected);
  });
});

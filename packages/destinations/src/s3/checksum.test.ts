import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bareEtag, checkEtag, ChecksumMismatch, md5Of, multipartEtag } from './checksum.js';

const body = Buffer.from('the rendered video');
const md5 = md5Of(body);

describe('checkEtag', () => {
  it('verifies an ETag that is the MD5 of the bytes sent, quoted or not', () => {
    expect(checkEtag(`"${md5.toString('hex')}"`, md5, undefined, 'part 1', 'host')).toBe(true);
    expect(checkEtag(md5.toString('hex'), md5, 'AES256', 'part 1', 'host')).toBe(true);
  });

  it('throws a checksum mismatch naming what differs when the ETag is another MD5', () => {
    const other = createHash('md5').update('other bytes').digest('hex');
    expect(() => checkEtag(`"${other}"`, md5, undefined, 'part 3', 's3.example.com')).toThrow(ChecksumMismatch);
    expect(() => checkEtag(other, md5, undefined, 'part 3', 's3.example.com')).toThrow(
      `s3.example.com stored part 3 with ETag ${other}, but the MD5 of the bytes sent is ${md5.toString('hex')}`,
    );
  });

  it('does not check an ETag that is no MD5: SSE-KMS, a multipart form, another digest, none', () => {
    const other = createHash('md5').update('other bytes').digest('hex');
    expect(checkEtag(other, md5, 'aws:kms', 'x', 'h')).toBe(false);
    expect(checkEtag(other, md5, 'aws:kms:dsse', 'x', 'h')).toBe(false);
    expect(checkEtag(`${other}-2`, md5, undefined, 'x', 'h')).toBe(false);
    expect(checkEtag(createHash('sha1').update(body).digest('hex'), md5, undefined, 'x', 'h')).toBe(false);
    expect(checkEtag(undefined, md5, undefined, 'x', 'h')).toBe(false);
  });
});

describe('multipartEtag', () => {
  it("is S3's form: the MD5 of the parts' binary MD5s, a dash, the part count", () => {
    const parts = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')].map(md5Of);
    expect(multipartEtag(parts)).toBe(`${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-3`);
  });
});

describe('bareEtag', () => {
  it('removes the quotes HTTP puts around an ETag', () => {
    expect(bareEtag('"abc"')).toBe('abc');
    expect(bareEtag('abc')).toBe('abc');
    expect(bareEtag(undefined)).toBeUndefined();
  });
});

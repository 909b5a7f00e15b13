import { describe, expect, it } from 'vitest';
import { Authenticator, digestAuthorization, parseChallenges } from './auth.js';

// RFC 7616 section 3.9.1: the worked example, with MD5 and SHA-256.
const RFC_CHALLENGE = {
  scheme: 'digest',
  params: {
    realm: 'http-auth@example.org',
    qop: 'auth, auth-int',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  },
};
const RFC_INPUT = {
  challenge: RFC_CHALLENGE,
  user: 'Mufasa',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  nonceCount: 1,
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('digest authorization', () => {
  it('computes the responses of RFC 7616\'s example for MD5 and SHA-256', () => {
    expect(digestAuthorization({ ...RFC_INPUT, algorithm: 'MD5' })).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(digestAuthorization({ ...RFC_INPUT, algorithm: 'SHA-256' })).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
  });

  it('sends the fields the server checks: qop auth, nc in hex, the opaque value, quoted names', () => {
    const header = digestAuthorization({ ...RFC_INPUT, algorithm: 'MD5', nonceCount: 26, user: 'a"b' });
    expect(header).toMatch(/^Digest /);
    expect(header).toContain('username="a\\"b"');
    expect(header).toContain('nc=0000001a');
    expect(header).toContain('qop=auth,');
    expect(header).toContain(`opaque="${RFC_CHALLENGE.params.opaque}"`);
    expect(header).toContain('uri="/dir/index.html"');
  });
});

describe('challenges', () => {
  it('parses several challenges in one header, quoted commas and escapes included', () => {
    const parsed = parseChallenges('Digest realm="a, b", qop="auth,auth-int", nonce="n\\"1", algorithm=MD5, Basic realm="plain"');
    expect(parsed).toEqual([
      { scheme: 'digest', params: { realm: 'a, b', qop: 'auth,auth-int', nonce: 'n"1', algorithm: 'MD5' } },
      { scheme: 'basic', params: { realm: 'plain' } },
    ]);
    expect(parseChallenges(['Basic realm="x"', 'Digest realm="y", nonce="z"']).map((c) => c.scheme)).toEqual(['basic', 'digest']);
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('prefers Digest, answers once, and tries again only when the nonce went stale', () => {
    const auth = new Authenticator('bob', 'pa:ss');
    expect(auth.header('PUT', new URL('http://h/x'))).toBeUndefined();
    const offered = parseChallenges('Basic realm="r", Digest realm="r", nonce="n1", qop="auth"');
    expect(auth.accept(offered)).toBe(true);
    expect(auth.header('PUT', new URL('http://h/a%20b?q=1'))).toMatch(/^Digest .*uri="\/a%20b\?q=1"/);
    // Refused with the same nonce: the password is wrong, a retry cannot help.
    expect(auth.accept(offered)).toBe(false);
    expect(auth.accept(parseChallenges('Digest realm="r", nonce="n2", qop="auth", stale=true'))).toBe(true);
  });

  it('sends Basic as UTF-8 user:password, the password whole (colons included)', () => {
    const auth = new Authenticator('alice', 'pä:ss');
    expect(auth.accept(parseChallenges('Basic realm="r"'))).toBe(true);
    const header = auth.header('GET', new URL('http://h/'))!;
    expect(Buffer.from(header.replace('Basic ', ''), 'base64').toString('utf8')).toBe('alice:pä:ss');
    expect(auth.accept(parseChallenges('Basic realm="r"'))).toBe(false);
  });

  it('does not answer schemes it cannot speak (Bearer, Digest with auth-int only, unknown algorithms)', () => {
    expect(new Authenticator('u', 'p').accept(parseChallenges('Bearer realm="r"'))).toBe(false);
    expect(new Authenticator('u', 'p').accept(parseChallenges('Digest realm="r", nonce="n", qop="auth-int"'))).toBe(false);
    expect(new Authenticator('u', 'p').accept(parseChallenges('Digest realm="r", nonce="n", algorithm=SHA-512-256'))).toBe(false);
  });
});

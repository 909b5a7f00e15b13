import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { parseFtpHost, resultUrl } from './url.js';

describe('parseFtpHost', () => {
  it.each([
    ['ftp.example.com', { hostname: 'ftp.example.com', port: 21, urlHost: 'ftp.example.com', display: 'ftp.example.com' }],
    ['FTP.Example.com:2121', { hostname: 'ftp.example.com', port: 2121, urlHost: 'ftp.example.com', display: 'ftp.example.com:2121' }],
    ['ftp.example.com:21', { hostname: 'ftp.example.com', port: 21, urlHost: 'ftp.example.com', display: 'ftp.example.com' }],
    ['127.0.0.1:30021', { hostname: '127.0.0.1', port: 30021, urlHost: '127.0.0.1', display: '127.0.0.1:30021' }],
    ['[2001:DB8::1]', { hostname: '2001:db8::1', port: 21, urlHost: '[2001:db8::1]', display: '[2001:db8::1]' }],
    ['[::1]:2121', { hostname: '::1', port: 2121, urlHost: '[::1]', display: '[::1]:2121' }],
  ])('%s', (host, expected) => {
    expect(parseFtpHost(host)).toEqual(expected);
  });

  it('uses 990 as the default port of implicit FTPS', () => {
    expect(parseFtpHost('ftps.example.com', 990)).toMatchObject({ port: 990, display: 'ftps.example.com' });
    expect(parseFtpHost('ftps.example.com:21', 990)).toMatchObject({ port: 21, display: 'ftps.example.com:21' });
  });

  it.each(['ftp.example.com:0', 'ftp.example.com:65536', 'ftp://ftp.example.com', 'a b', ''])('refuses %j as UF_INVALID_REQUEST', (host) => {
    expect(() => parseFtpHost(host)).toThrow(FleetError);
    try {
      parseFtpHost(host);
    } catch (error) {
      expect((error as FleetError).code).toBe('UF_INVALID_REQUEST');
    }
  });
});

describe('resultUrl', () => {
  const server = parseFtpHost('ftp.example.com');
  it.each([
    ['/videos/welcome.mp4', 'ftp://ftp.example.com/videos/welcome.mp4'],
    ['videos/welcome.mp4', 'ftp://ftp.example.com/videos/welcome.mp4'],
    ['welcome.mp4', 'ftp://ftp.example.com/welcome.mp4'],
    ['/Grüße aus Köln & co (1) ✓.mp4', 'ftp://ftp.example.com/Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln%20%26%20co%20(1)%20%E2%9C%93.mp4'],
    ['/a/#b?c;type=i/100%.mp4', 'ftp://ftp.example.com/a/%23b%3Fc%3Btype%3Di/100%25.mp4'],
  ])('%s', (filename, url) => {
    expect(resultUrl(server, filename)).toBe(url);
    expect(new URL(url).hostname).toBe('ftp.example.com');
  });

  it('carries a port other than the default, IPv6 in brackets, and never credentials', () => {
    expect(resultUrl(parseFtpHost('[::1]:2121'), '/a.mp4')).toBe('ftp://[::1]:2121/a.mp4');
    expect(resultUrl(parseFtpHost('ftps.example.com', 990), '/a.mp4', true)).toBe('ftps://ftps.example.com/a.mp4');
    expect(resultUrl(parseFtpHost('ftps.example.com:2990', 990), '/a.mp4', true)).toBe('ftps://ftps.example.com:2990/a.mp4');
    expect(resultUrl(server, '/a.mp4')).not.toContain('@');
  });
});

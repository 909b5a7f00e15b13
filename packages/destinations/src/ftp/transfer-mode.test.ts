import type { FTPContext, FTPResponse } from 'basic-ftp';
import { connectForPassiveTransfer, parsePasvResponse } from 'basic-ftp/dist/transfer.js';
import { describe, expect, it } from 'vitest';
import { firstThatWorks, transferModeName, type TransferStrategy } from './transfer-mode.js';

describe('transferModeName', () => {
  it.each([
    [false, false, 'EPSV, then PASV'],
    [true, false, 'PASV'],
    [false, true, 'EPSV'],
    [true, true, 'EPSV, then PASV'],
  ] as const)('passive %s, epsv %s: %s', (passive, epsv, name) => {
    expect(transferModeName({ passive, epsv })).toBe(name);
  });
});

describe('firstThatWorks', () => {
  const context = (closed = false) => ({ closed }) as FTPContext;
  const ok = (message: string, calls: string[]): TransferStrategy => async () => {
    calls.push(message);
    return { code: 200, message } satisfies FTPResponse;
  };
  const failing = (message: string, calls: string[]): TransferStrategy => async () => {
    calls.push(message);
    throw new Error(message);
  };

  it('falls back to the next strategy, then keeps the one that worked', async () => {
    const calls: string[] = [];
    const strategy = firstThatWorks([failing('EPSV', calls), ok('PASV', calls)]);
    expect((await strategy(context())).message).toBe('PASV');
    expect((await strategy(context())).message).toBe('PASV');
    expect(calls).toEqual(['EPSV', 'PASV', 'PASV']);
  });

  it('throws the last error when none works', async () => {
    const calls: string[] = [];
    await expect(firstThatWorks([failing('EPSV', calls), failing('PASV', calls)])(context())).rejects.toThrow('PASV');
  });

  it('stops at once when the client was closed (abort, timeout)', async () => {
    const calls: string[] = [];
    await expect(firstThatWorks([failing('EPSV', calls), ok('PASV', calls)])(context(true))).rejects.toThrow('EPSV');
    expect(calls).toEqual(['EPSV']);
  });
});

describe("basic-ftp's transfer module", () => {
  // transfer-mode.ts imports these from basic-ftp/dist/transfer.js, which its index does not
  // re-export: this fails first when an upgrade moves them.
  it('has the functions the PASV strategy uses', () => {
    expect(typeof connectForPassiveTransfer).toBe('function');
    expect(parsePasvResponse('227 Entering Passive Mode (10,1,2,3,117,49)')).toEqual({ host: '10.1.2.3', port: 117 * 256 + 49 });
  });
});

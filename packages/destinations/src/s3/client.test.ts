import { UploadPartCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetworkGuard } from '@upload-fleet/core';
import { s3DestinationSchema } from './definition.js';
import { connectS3, type S3Connection } from './client.js';
import { resolveEndpoint } from './endpoint.js';

const destination = s3DestinationSchema.parse({ type: 's3', bucket: 'videos', filename: 'a.mp4', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'secret-example-key' });
const md5OfBody = 'XUFAKrxLKna5cZ2REBfFkg==';

let connection: S3Connection | undefined;
afterEach(() => connection?.close());

/** The headers of a signed UploadPart as the SDK would put it on the wire (captured before anything is sent). */
async function signedHeaders(s3host: string): Promise<Record<string, string>> {
  connection = connectS3(resolveEndpoint(s3host, undefined), destination, createNetworkGuard({ allowedPrivateHosts: [] }));
  const command = new UploadPartCommand({ Bucket: 'videos', Key: 'a.mp4', UploadId: 'u1', PartNumber: 1, Body: Buffer.from('hello'), ContentLength: 5, ContentMD5: md5OfBody });
  let headers: Record<string, string> | undefined;
  command.middlewareStack.add(
    () => (args) => {
      headers = (args.request as { headers: Record<string, string> }).headers;
      throw new Error('captured');
    },
    { step: 'deserialize', priority: 'low', name: 'testCapture' },
  );
  await expect(connection.client.send(command)).rejects.toThrow('captured');
  return headers!;
}

describe('the signed payload of a body', () => {
  it('is UNSIGNED-PAYLOAD over TLS, with the Content-MD5 among the signed headers', async () => {
    const headers = await signedHeaders('s3.eu-central-1.amazonaws.com');
    expect(headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(headers['content-md5']).toBe(md5OfBody);
    expect(headers.authorization).toMatch(/SignedHeaders=[^,]*content-md5[^,]*x-amz-content-sha256/);
  });

  it('stays the SHA-256 of the body over plain http', async () => {
    const headers = await signedHeaders('127.0.0.1:9');
    expect(headers['x-amz-content-sha256']).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });
});

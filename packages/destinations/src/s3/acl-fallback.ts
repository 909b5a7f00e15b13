import { FleetError, type ScopedLogger } from '@upload-fleet/core';
import type { CannedAcl } from './providers.js';
import type { AclRequest } from './object-parameters.js';
import { s3ErrorName, type S3Where } from './errors.js';

/**
 * Buckets with ACLs disabled. Since April 2023 a new Amazon S3 bucket has Object Ownership
 * "bucket owner enforced": it refuses any request that carries an ACL, the spec's default
 * public-read included, with 400 AccessControlListNotSupported
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html,
 * "If your bucket uses the bucket owner enforced setting ... requests to set ACLs or update
 * ACLs fail and return the AccessControlListNotSupported error code").
 *
 * The ACL travels on the request that creates the object: PutObject, or
 * CreateMultipartUpload (no part has been sent when it is refused). `sendWithAcl` runs
 * that request, and when the bucket refuses the ACL:
 * - `acl` left out: sends it again without an ACL; the result says none was applied and why.
 * - `acl` given: fails for good, saying that the bucket has ACLs disabled and what to do.
 * `acl: "bucket-default"` sends no ACL in the first place.
 */

export interface AclOutcome {
  /** The ACL S3 applied; undefined: none (the bucket's settings decide access). */
  applied: CannedAcl | undefined;
  /** Why none was applied. */
  note: string | undefined;
}

export const NO_ACL_ASKED = 'acl "bucket-default": no ACL was sent; the bucket\'s policy decides who can read the object';
export const ACLS_DISABLED =
  'the bucket has ACLs disabled (Object Ownership "bucket owner enforced"), so no ACL was applied: the bucket\'s policy decides who can read the object';

export async function sendWithAcl<T>(request: AclRequest, where: S3Where, log: ScopedLogger, send: (acl: CannedAcl | undefined) => Promise<T>): Promise<{ answer: T; acl: AclOutcome }> {
  try {
    return { answer: await send(request.acl), acl: { applied: request.acl, note: request.acl === undefined ? NO_ACL_ASKED : undefined } };
  } catch (error) {
    if (request.acl === undefined || s3ErrorName(error) !== 'AccessControlListNotSupported') throw error;
    if (!request.mayFallBack) throw aclRefused(request.acl, where, error);
    log.info({ bucket: where.bucket }, 'the bucket refuses ACLs; uploading without the default public-read ACL');
    return { answer: await send(undefined), acl: { applied: undefined, note: ACLS_DISABLED } };
  }
}

function aclRefused(acl: CannedAcl, where: S3Where, cause: unknown): FleetError {
  return new FleetError(
    'UF_DESTINATION_REJECTED',
    `The bucket "${where.bucket}" at ${where.host} has ACLs disabled (Object Ownership "bucket owner enforced") and refused acl "${acl}" (AccessControlListNotSupported): ` +
      'leave acl out or set acl to "bucket-default" to upload without an ACL (the bucket policy then decides who can read it), or enable ACLs on the bucket (Object Ownership "bucket owner preferred")',
    { destination: 's3', status: 400, cause },
  );
}

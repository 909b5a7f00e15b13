import { z } from 'zod';
import { CANNED_ACLS } from './providers.js';

/**
 * The resumable state of a multipart upload, saved after it starts and after each part.
 *
 * The UploadId is what matters: with it a retry (on any process) asks S3 which parts it
 * holds (ListParts) and trusts that answer over `parts` here, which may lag behind (a
 * part finished but its save did not) or be wrong. `parts` is kept for operators reading
 * the checkpoint and for the log of a resume.
 */
export const s3CheckpointSchema = z.object({
  version: z.literal(1),
  uploadId: z.string().min(1),
  /** Endpoint id, bucket, key and size: a checkpoint made for anything else is not resumed. */
  endpoint: z.string(),
  bucket: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
  /** The part size the upload started with; a resume keeps it, even if the chooser changed since. */
  partSize: z.number().int().positive(),
  /** MD5 (base64) of each part as sent: with it a resumed upload still reports the object's multipart checksum. */
  parts: z.array(z.object({ PartNumber: z.number().int().positive(), ETag: z.string(), MD5: z.string().optional() })),
  /** The ACL applied when the upload was created (null: none, for the reason in aclNote); the result reports it after a resume. */
  acl: z.enum(CANNED_ACLS).nullable().optional(),
  aclNote: z.string().optional(),
});

export type S3Checkpoint = z.infer<typeof s3CheckpointSchema>;

/** A stored checkpoint, or undefined when there is none or it is not one of ours (then it is ignored). */
export function parseCheckpoint(stored: unknown): S3Checkpoint | undefined {
  if (stored === undefined || stored === null) return undefined;
  const parsed = s3CheckpointSchema.safeParse(stored);
  return parsed.success ? parsed.data : undefined;
}

/** Whether a checkpoint was made for this very upload: same endpoint, bucket, key and file size. */
export function checkpointFits(checkpoint: S3Checkpoint, upload: { endpoint: string; bucket: string; key: string; size: number }): boolean {
  return checkpoint.endpoint === upload.endpoint && checkpoint.bucket === upload.bucket && checkpoint.key === upload.key && checkpoint.size === upload.size;
}

/**
 * TikTok's chunk rules for FILE_UPLOAD, from the Media Transfer Guide
 * (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide#work_with_chunks):
 *
 * - total_chunk_count is video_size / chunk_size rounded down;
 * - each chunk is at least 5 MB and at most 64 MB, but the final one, which takes the
 *   trailing bytes and may reach 128 MB;
 * - a video under 5 MB goes whole, chunk_size = video_size; one over 64 MB in several chunks;
 * - 1 to 1000 chunks, uploaded in order.
 *
 * "MB" is not defined there. Each bound is read the strict way: the minimum as 5 MiB (the
 * larger reading), the maxima as decimal 64 MB and 128 MB (the smaller), so a plan made
 * here is valid under either reading. The testkit's fake checks the same bounds.
 */

export const MIN_CHUNK_BYTES = 5 * 1024 * 1024;
export const MAX_CHUNK_BYTES = 64_000_000;
export const MAX_FINAL_CHUNK_BYTES = 128_000_000;
export const MAX_CHUNKS = 1000;
/** TikTok's largest video ("Maximum of 4GB", Direct Post reference, video restrictions). */
export const MAX_VIDEO_BYTES = 4 * 1024 * 1024 * 1024;

export interface ChunkPlan {
  videoSize: number;
  chunkSize: number;
  totalChunkCount: number;
}

/** The plan for a file of `videoSize` bytes with chunks of about `preferredChunkBytes` (within the bounds). */
export function planChunks(videoSize: number, preferredChunkBytes: number): ChunkPlan {
  if (!Number.isInteger(videoSize) || videoSize <= 0) throw new RangeError(`a TikTok video has at least one byte (got ${videoSize})`);
  if (videoSize < MIN_CHUNK_BYTES) return { videoSize, chunkSize: videoSize, totalChunkCount: 1 };
  let chunkSize = Math.min(Math.max(preferredChunkBytes, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES, videoSize);
  // More than 1000 chunks: larger chunks, so that the rounded-down count is 1000 at most.
  if (Math.floor(videoSize / chunkSize) > MAX_CHUNKS) chunkSize = Math.ceil(videoSize / MAX_CHUNKS);
  // One chunk of more than 64 MB is not allowed: two halves, the second taking the odd byte.
  if (Math.floor(videoSize / chunkSize) === 1 && videoSize > MAX_CHUNK_BYTES) chunkSize = Math.floor(videoSize / 2);
  const plan = { videoSize, chunkSize, totalChunkCount: Math.floor(videoSize / chunkSize) };
  const problem = chunkPlanProblem(plan);
  if (problem) throw new RangeError(`no TikTok chunk plan for ${videoSize} bytes: ${problem}`);
  return plan;
}

/** The byte range [start, end) of chunk `index` (0-based): the final chunk takes the trailing bytes. */
export function chunkRange(plan: ChunkPlan, index: number): { start: number; end: number } {
  const start = index * plan.chunkSize;
  const end = index === plan.totalChunkCount - 1 ? plan.videoSize : start + plan.chunkSize;
  return { start, end };
}

/** Why a plan breaks TikTok's rules, or undefined when it keeps them. Shared with the testkit's fake. */
export function chunkPlanProblem(plan: ChunkPlan): string | undefined {
  const { videoSize, chunkSize, totalChunkCount } = plan;
  if (![videoSize, chunkSize, totalChunkCount].every((n) => Number.isInteger(n) && n > 0)) return 'video_size, chunk_size and total_chunk_count must be positive integers';
  if (videoSize < MIN_CHUNK_BYTES) return chunkSize === videoSize && totalChunkCount === 1 ? undefined : 'a video under 5 MB must be sent whole: chunk_size equal to video_size, total_chunk_count 1';
  if (totalChunkCount !== Math.floor(videoSize / chunkSize)) return 'total_chunk_count must be video_size / chunk_size rounded down';
  if (totalChunkCount > MAX_CHUNKS) return `at most ${MAX_CHUNKS} chunks`;
  if (chunkSize < MIN_CHUNK_BYTES) return 'chunk_size must be at least 5 MB';
  if (chunkSize > MAX_CHUNK_BYTES) return 'chunk_size must be at most 64 MB';
  const final = videoSize - (totalChunkCount - 1) * chunkSize;
  if (final > MAX_FINAL_CHUNK_BYTES) return 'the final chunk must be at most 128 MB';
  return undefined;
}

import type { BeforeHookResult, HookContext } from '@bull-board/api/dist/types.js';

/**
 * Which of Bull Board's actions the dashboard lets through. Reads (GET) always; changes
 * never in read-only mode (the default). With DASHBOARD_READ_ONLY=false, exactly these:
 * - retry a failed job, or every failed job of a queue (with a fresh set of attempts);
 * - clean (remove) a job that has ended (completed or failed), or clean those sets;
 * - promote a delayed job, or every delayed job of a queue.
 * Everything else Bull Board offers stays refused, whatever the setting: adding or editing
 * a job would write the redacted view back over its data (and its encrypted secrets);
 * removing a job that has not ended would leave its delivery waiting forever (cancel it
 * through the API instead); retrying a completed upload would deliver the file twice;
 * pausing, emptying or obliterating queues and changing limits are operations for the
 * deployment, not for this page.
 */
export function actionPolicy(readOnly: boolean): (context: HookContext) => Promise<BeforeHookResult> {
  return async ({ method, route, request }) => {
    if (method === 'get') return undefined;
    if (readOnly) {
      return refuse(`The dashboard is read-only (DASHBOARD_READ_ONLY is not "false"); it shows queues and jobs but changes nothing.`);
    }
    const params = request.params as Record<string, string | undefined>;
    switch (route) {
      case '/api/queues/:queueName/:jobId/retry':
        return requireJobState(request, params, ['failed'], 'Only failed jobs are retried from the dashboard (a completed upload would be delivered twice).');
      case '/api/queues/:queueName/retry/:queueStatus':
        return params.queueStatus === 'failed' ? undefined : refuse('Only failed jobs are retried from the dashboard (a completed upload would be delivered twice).');
      case '/api/queues/:queueName/:jobId/clean':
        return requireJobState(request, params, ['completed', 'failed'], 'Only jobs that have ended (completed or failed) are removed from the dashboard; cancel a waiting upload with the API (DELETE /v1/deliveries/<token>) so its delivery records it.');
      case '/api/queues/:queueName/clean/:queueStatus':
        return params.queueStatus === 'completed' || params.queueStatus === 'failed'
          ? undefined
          : refuse('Only completed or failed jobs are cleaned from the dashboard; cancel waiting uploads with the API so their deliveries record it.');
      case '/api/queues/:queueName/:jobId/promote':
      case '/api/queues/:queueName/promote':
        return undefined;
      default:
        return refuse('This action is not offered by the upload-fleet dashboard: it allows retry, clean (remove) and promote only.');
    }
  };
}

function refuse(message: string): BeforeHookResult {
  return { allow: false, status: 403, message };
}

async function requireJobState(
  request: HookContext['request'],
  params: Record<string, string | undefined>,
  states: string[],
  message: string,
): Promise<BeforeHookResult> {
  const queue = params.queueName === undefined ? undefined : request.queues.get(params.queueName);
  const job = queue && params.jobId !== undefined ? await queue.getJob(params.jobId) : undefined;
  // An unknown queue or job is left to Bull Board, which answers 404.
  if (!job) return undefined;
  return states.includes(await job.getState()) ? undefined : refuse(message);
}

export { EXIT, USAGE, runCli, type CliIo } from './cli.js';
export {
  ApiClient,
  ApiRequestError,
  ApiUnreachableError,
  type ApiClientOptions,
  type CancelAnswer,
  type DeliveryAccepted,
  type RetryAnswer,
} from './api-client.js';
export { ProgressView, type ProgressStream, type ProgressViewOptions } from './progress-view.js';
export { cliConfig, cliSettings, DEFAULT_API_URL, keyFromApiKeysValue, resolveSettings, type CliSettings } from './settings.js';
export { InputError, requestFromFile, requestFromFlags, type RequestFlags } from './submit-request.js';
export { describeDelivery, formatBytes, formatDuration } from './format.js';

export { buildApi, type BuildApiOptions, type DeliveryAccepted, type Readiness } from './server.js';
export {
  apiConfig,
  apiConfigSchema,
  apiServiceConfig,
  apiServiceConfigSchema,
  loadApiConfig,
  loadApiServiceConfig,
  type ApiConfig,
  type ApiKey,
  type ApiServiceConfig,
} from './config.js';
export { registerConnectRoutes, type ConnectOptions, type ConnectStarted, type Connected, type CredentialView } from './connect.js';
export { API_ERROR_CODES, type ApiErrorBody, type ApiErrorCode } from './errors.js';
export { buildOpenApiDocument } from './openapi.js';
export { redisReadiness } from './readiness.js';

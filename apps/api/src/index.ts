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
export { registerOpenApi, registeredRoutes, routeSchemas, type RegisteredRoute } from './openapi.js';
export { redisAvailability, redisReadiness } from './readiness.js';

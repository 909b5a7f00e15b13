export { buildDashboard, startDashboard, type BuildDashboardOptions, type RunningDashboard, type StartDashboardOptions } from './dashboard.js';
export {
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  MIN_DASHBOARD_PASSWORD_LENGTH,
  dashboardConfig,
  dashboardEnvSchema,
  loadDashboardConfig,
  type DashboardAuth,
  type DashboardConfig,
  type DashboardUser,
} from './config.js';
export { BASIC_CHALLENGE, BasicAuthMatcher, basicCredentialsOf } from './auth.js';
export { REDACTED, isSecretFieldName, redactText, redactValue } from './redaction.js';

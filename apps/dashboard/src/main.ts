/**
 * Entrypoint of the dashboard: the only file that reads process.env. Refuses to start
 * without logins (DASHBOARD_USERS) unless DASHBOARD_AUTH=none says so explicitly, and
 * exits non-zero with every configuration problem listed.
 */
import { createLogger } from '@upload-fleet/core';
import { loadDashboardConfig, type DashboardConfig } from './config.js';
import { startDashboard, type RunningDashboard } from './dashboard.js';

let config: DashboardConfig;
try {
  config = loadDashboardConfig(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, base: { service: 'upload-fleet-dashboard' } });
let dashboard: RunningDashboard;
try {
  dashboard = await startDashboard({ ...config, logger });
} catch (error) {
  console.error(`The dashboard could not start: ${(error as Error).message}`);
  process.exit(1);
}

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  try {
    await dashboard.close();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
// `on`, not `once`: a second signal while closing must not kill the process half-way.
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Logged only once the handlers are in place: a SIGTERM sent on seeing this line must find them.
logger.info({ url: dashboard.url, read_only: config.readOnly, auth: config.auth.type }, 'dashboard listening');

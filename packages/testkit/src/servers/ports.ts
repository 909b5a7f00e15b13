/**
 * The free-port helper (one for the fleet: the embedded Redis needs it in production, so it
 * lives in @upload-fleet/redis): a port nothing listens on, for servers to start on, or for
 * "connection refused".
 */
export { freePort } from '@upload-fleet/redis';

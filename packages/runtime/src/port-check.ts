import { createServer } from 'node:net';

/** A port a process is configured to listen on, with the setting that names it. */
export interface PortSetting {
  /** The environment variable, like "PORT" or "DASHBOARD_PORT". */
  setting: string;
  port: number;
  host: string;
}

/**
 * Refuses to go on when a configured port cannot be listened on, before anything that
 * takes jobs starts: a process that began its uploads and then fails to listen would
 * abandon them. Port 0 (any free port) always passes. Throws one Error naming every
 * setting at fault and what to do.
 */
export async function assertPortsFree(settings: PortSetting[]): Promise<void> {
  const problems: string[] = [];
  const fixed = settings.filter((s) => s.port !== 0);
  for (const [i, setting] of fixed.entries()) {
    const earlier = fixed.slice(0, i).find((other) => other.port === setting.port);
    if (earlier) {
      problems.push(`${earlier.setting} and ${setting.setting} are both ${setting.port}: set ${setting.setting} to another port`);
      continue;
    }
    const error = await tryListen(setting);
    if (error) problems.push(portProblem(setting, error));
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** The error of a failed `listen` with the setting named, for the listen calls themselves (a port taken after the check). */
export function listenError(setting: PortSetting, error: unknown): Error {
  return new Error(portProblem(setting, error as NodeJS.ErrnoException), { cause: error });
}

function portProblem(setting: PortSetting, error: NodeJS.ErrnoException): string {
  const where = `${setting.setting}=${setting.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `${where} is in use: set ${setting.setting} to a free port (or stop what listens on it)`;
    case 'EACCES':
      return `${where} needs privileges this process lacks: set ${setting.setting} to a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${where}: the host ${setting.host} is not an address of this machine: fix the host setting beside ${setting.setting}`;
    default:
      return `${where} cannot be listened on (${error.code ?? error.message}): set ${setting.setting} to a free port`;
  }
}

function tryListen(setting: PortSetting): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ port: setting.port, host: setting.host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

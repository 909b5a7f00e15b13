import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What the starters of Debian's daemons (sshd, vsftpd, Apache) share: finding the
 * program, the system user its children run as, waiting until it answers, and stopping
 * it with every child it forked (each is started in a process group of its own).
 */

/** The first of `paths` that is an executable file, or undefined. */
export function firstExecutable(paths: readonly string[]): string | undefined {
  return paths.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** uid and gid of a user in /etc/passwd (a daemon's unprivileged user), or undefined. */
export function systemUser(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no /etc/passwd: not a system these daemons run on
  }
  return undefined;
}

/** Ends a daemon started with `detached: true` and its per-connection children (its process group). */
export function stopProcessGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}

/**
 * Waits until `probe` says the daemon is ready: `true`. A string is a wrong answer (the
 * start failed), undefined means not listening yet. Fails with the daemon's output when it
 * exits or the time runs out.
 */
export async function untilReady(
  name: string,
  child: ChildProcess,
  output: () => string,
  probe: () => Promise<true | string | undefined>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited at start (${child.exitCode}): ${output()}`);
    const answer = await probe();
    if (answer === true) return;
    if (answer !== undefined) throw new Error(`${name} answered "${answer.trim()}" at start: ${output()}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${output()}`);
    await sleep(50);
  }
}

/** The first bytes a server sends on a new connection (an SSH banner, an FTP greeting), or undefined when nothing listens. */
export function greetingOf(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', () => resolve(undefined));
  });
}

import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs a command in a pseudo-terminal, the way a user's shell runs it: the command leads
 * its own session with the pty as its controlling terminal, so its process group is the
 * terminal's foreground group. `interrupt()` types Ctrl-C (byte 0x03): the kernel's line
 * discipline turns it into SIGINT for the whole foreground group, exactly as a terminal
 * does; a child that did not detach receives it too.
 *
 * Python's `pty` module does the terminal work (scripts/bootstrap installs python3): it
 * copies the pty's output to its stdout and its stdin to the pty, and exits with the
 * command's status (128 + signal when a signal ended it).
 */
const PTY_RELAY = String.raw`
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
stdin_open, pty_open, status = True, True, None
while True:
    readable, _, _ = select.select(([fd] if pty_open else []) + ([0] if stdin_open else []), [], [], 0.1)
    if fd in readable:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            os.write(1, data)
        else:
            pty_open = False
    if 0 in readable:
        data = os.read(0, 1024)
        if data and pty_open:
            os.write(fd, data)
        elif not data:
            stdin_open = False
    if status is None:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
    # The command ended and its output is read (a descendant may hold the pty open for ever).
    if status is not None and (not pty_open or fd not in readable):
        break
sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
`;

export interface PtyProcess {
  /** The relay; its exit code is the command's. */
  child: ChildProcess;
  /** Everything the command wrote to the terminal so far. */
  output: () => string;
  /** Types Ctrl-C into the terminal. */
  interrupt: () => void;
  exited: Promise<number | null>;
}

export function startInPty(command: string[], options: { cwd: string; env: Record<string, string | undefined> }): PtyProcess {
  const child = spawn('python3', ['-c', PTY_RELAY, ...command], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, interrupt: () => void child.stdin!.write('\x03'), exited };
}

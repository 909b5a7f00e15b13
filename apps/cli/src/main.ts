#!/usr/bin/env node
/**
 * The `upload-fleet` command: the only file that reads process.env and exits. Everything
 * else is in cli.ts, so tests can run it in-process too.
 */
import { readFileSync } from 'node:fs';
import { runCli } from './cli.js';

const controller = new AbortController();
// The first Ctrl-C stops waiting (the delivery goes on); a second one ends the process at once.
process.once('SIGINT', () => controller.abort());

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  // `pnpm upload-fleet` runs in the workspace root; INIT_CWD is where the command was typed.
  fileCwd: process.env.INIT_CWD ?? process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readFileSync(0, 'utf8'),
  signal: controller.signal,
});
process.exitCode = code;

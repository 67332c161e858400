// Running the `weir` command line as a user runs it (`node bin/weir.mjs ...` in a child process),
// and the checks the CLI tests share: the one-line error contract, waiting for a child's output.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin", "weir.mjs");
export const FIXTURES = "test/cli/fixtures";
const TIMEOUT = 60_000;
/**
 * No live status line off a terminal (it comes every 10 s: on a loaded machine a test's job may
 * run that long, and stderr is checked line by line); a test of the status line sets its own.
 */
const NO_STATUS_LINE = { WEIR_STATUS_INTERVAL_MS: "0" };

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `weir args...` in the repository and resolve with what it printed and its exit code. */
export function weir(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: TIMEOUT, env: { ...process.env, ...NO_STATUS_LINE, ...env } },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === "number" ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** The error contract: a non-zero exit, exactly one line on stderr, no stack trace. */
export function assertOneLineError(r: Run, code: number, ...fragments: string[]): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split("\n").filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^weir: .+; .+/, "weir: <what>; <what to do>");
  assert.ok(!r.stderr.includes("    at "), `no stack trace:\n${r.stderr}`);
  for (const f of fragments) assert.ok(lines[0]!.includes(f), `'${f}' in: ${lines[0]}`);
}

/** A `weir` child process whose output is gathered as it comes, to wait on and to interrupt. */
export interface LiveRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves once `condition` holds on stdout (or on stderr); fails if the child exits first or
   * the deadline passes.
   */
  until(condition: (output: string) => boolean, stream?: "stdout" | "stderr"): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWeir(args: string[], env: NodeJS.ProcessEnv = {}): LiveRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...NO_STATUS_LINE, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d));
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const describe = () => `stdout: ${stdout.slice(-2000)}\nstderr: ${stderr}`;
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    until(condition, stream = "stdout") {
      const source = stream === "stdout" ? child.stdout! : child.stderr!;
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => finish(new Error(`timed out waiting; ${describe()}`)), 60_000);
        const check = () => {
          if (condition(stream === "stdout" ? stdout : stderr)) finish();
        };
        const onExit = () => finish(new Error(`the job exited early; ${describe()}`));
        function finish(e?: Error) {
          clearTimeout(deadline);
          source.off("data", check);
          child.off("exit", onExit);
          if (e === undefined) resolve();
          else reject(e);
        }
        source.on("data", check);
        child.once("exit", onExit);
        check();
      });
    },
  };
}

/**
 * Run `weir args... | reader` in bash (a real pipe, as a user's shell makes it); resolves with the
 * reader's stdout, weir's stderr and weir's exit code.
 */
export function weirPiped(args: string[], reader: string): Promise<Run> {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const command = `${[process.execPath, BIN, ...args].map(quote).join(" ")} | ${reader}; exit "\${PIPESTATUS[0]}"`;
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", command],
      {
        cwd: ROOT,
        timeout: 4 * TIMEOUT,
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, ...NO_STATUS_LINE },
      },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === "number" ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

// Running one test file as a child process with a deadline: its own process group, so a hanging
// mutant (and every worker or child process it started) is killed as a whole.
import { spawn } from "node:child_process";

/** Processes still running, so Ctrl-C can end them all. */
const live = new Set();

export function killAll() {
  for (const child of live) killGroup(child);
}

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {}
}

/**
 * Runs `node --import tsx --test <testFile>` in `root`.
 * Resolves { passed, timedOut, durationMs, output } (output: the last few KB, for failures).
 */
export function runTestFile(root, testFile, timeoutMs, extraEnv = {}) {
  const started = Date.now();
  const env = { ...process.env, ...extraEnv };
  if (!("NODE_V8_COVERAGE" in extraEnv)) delete env.NODE_V8_COVERAGE;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--test", "--test-reporter=dot", `--test-timeout=${timeoutMs}`, testFile],
    { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(child);
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      live.delete(child);
      killGroup(child); // stray grandchildren of a failed test
      resolve({ passed: code === 0 && !timedOut, timedOut, durationMs: Date.now() - started, output });
    });
  });
}

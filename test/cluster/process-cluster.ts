// A cluster of real processes for the cluster tests: a JobManager and TaskManagers started as
// `weir jobmanager` / `weir taskmanager` children on loopback (free ports), with what they print
// gathered, and every process killed at the end, also when the test fails.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin", "weir.mjs");

export interface Proc {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();
// A test runner that dies must not leave the cluster behind: on exit, and on a signal (the test
// runner stopping a file that ran out of time), whose default ends the process without "exit".
process.once("exit", () => {
  for (const c of started) c.kill("SIGKILL");
});
for (const [signal, code] of [
  ["SIGTERM", 143],
  ["SIGINT", 130],
  ["SIGHUP", 129],
] as const) {
  process.once(signal, () => {
    for (const c of started) c.kill("SIGKILL");
    process.exit(code);
  });
}

/** `weir <args>`; `wrap` runs it through another command (e.g. `ip netns exec <ns>`, which execs it). */
export function startProcess(args: string[], env: NodeJS.ProcessEnv, wrap: readonly string[] = []): Proc {
  return startCommand([...wrap, process.execPath, BIN, ...args], env);
}

/** Any command, its output gathered, killed when the test process exits. */
export function startCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Proc {
  const [command, ...rest] = argv;
  const child = spawn(command!, rest, {
    cwd: ROOT,
    env: { ...process.env, WEIR_STATUS_INTERVAL_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  let out = "";
  let err = "";
  // Decoded as a stream: a character split between two reads stays whole.
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

/** Wait for `pattern` in what `p` printed; generous by default: a loaded machine starts processes slowly. */
export async function waitForOutput(
  p: Proc,
  pattern: RegExp,
  what: string,
  ms = 120_000,
): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = p.out().match(pattern);
    if (m !== null) return m;
    if (p.child.exitCode !== null || Date.now() > until) {
      throw new Error(`${what}: not seen (exit ${p.child.exitCode})\nstdout: ${p.out()}\nstderr: ${p.err()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestCluster {
  /** The JobManager's RPC port (what TaskManagers dial). */
  port: number;
  /** Its REST address, host:port: what clients' -m names. */
  address: string;
  /** The JobManager's REST API. */
  restUrl: string;
  jobManager: Proc;
  taskManagers: Proc[];
  /** Start one more TaskManager. */
  addTaskManager(id: string, slots: number): Promise<Proc>;
  /** Kill every process of the cluster and wait for them to exit. */
  stop(): Promise<void>;
}

export interface ClusterSpec {
  taskManagers: number;
  slots: number;
  token?: string;
  env?: NodeJS.ProcessEnv;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** More arguments of every process (e.g. the TLS files). */
  args?: string[];
  /** More arguments of the JobManager only (e.g. --flamegraph). */
  jobManagerArgs?: string[];
  /** The JobManager's --slot-placement (default: its own, pack). */
  slotPlacement?: "pack" | "spread";
}

export async function startCluster(spec: ClusterSpec): Promise<TestCluster> {
  const env = { ...spec.env, WEIR_CLUSTER_TOKEN: spec.token ?? "" };
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  };
  try {
    const jm = startProcess(
      [
        "jobmanager",
        "--port",
        "0",
        "--rest-port",
        "0",
        "--heartbeat-interval",
        String(spec.heartbeatIntervalMs ?? 300),
        "--heartbeat-timeout",
        String(spec.heartbeatTimeoutMs ?? 3_000),
        ...(spec.args ?? []),
        ...(spec.jobManagerArgs ?? []),
        ...(spec.slotPlacement === undefined ? [] : ["--slot-placement", spec.slotPlacement]),
      ],
      env,
    );
    procs.push(jm);
    const listening = await waitForOutput(
      jm,
      /JobManager listening on [\d.]+:(\d+); REST API at (\S+)/,
      "the JobManager's ports",
    );
    const port = Number(listening[1]);
    const restUrl = listening[2]!;
    const address = restUrl.replace(/^https?:\/\//, "");
    const addTaskManager = async (id: string, slots: number) => {
      const tm = startProcess(
        [
          "taskmanager",
          "-m",
          `127.0.0.1:${port}`,
          "--slots",
          String(slots),
          "--id",
          id,
          ...(spec.args ?? []),
        ],
        env,
      );
      procs.push(tm);
      await waitForOutput(tm, /registered with/, `TaskManager ${id} registered`);
      return tm;
    };
    const taskManagers: Proc[] = [];
    for (let i = 0; i < spec.taskManagers; i++)
      taskManagers.push(await addTaskManager(`tm-${i}`, spec.slots));
    return { port, address, restUrl, jobManager: jm, taskManagers, addTaskManager, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// Hosts for the tests across hosts: each host a Linux network namespace of its own (made with
// `ip netns`, as root), joined by veth pairs to a bridge in a "switch" namespace, on the private
// range 10.213.0.0/24 that exists only inside these namespaces. Nothing is added to the machine's
// own namespace. A partition takes a host's veth down at the switch, as a cable pulled out.
//
// Where `ip netns` is not available (not root, no iproute2) the same hosts are loopback addresses
// (127.0.0.x) of this machine, and a partition freezes the host's processes instead (SIGSTOP):
// the tests run either way and say which.
//
// Namespaces are named wn<pid>-<host>; every run first removes those of runs whose process is gone
// (a crashed earlier run), and removes its own when it ends, also when a test fails.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, type Proc, startCommand, startProcess } from "./process-cluster.ts";

export type HostsKind = "network namespaces" | "loopback";

export interface Hosts {
  readonly kind: HostsKind;
  /** Why the loopback variant runs (undefined with namespaces). */
  readonly why: string | undefined;
  /** The address of a host. */
  address(host: string): string;
  /** `weir <args>` on a host. */
  weir(host: string, args: string[], env: NodeJS.ProcessEnv): Proc;
  /** A TypeScript script (under tsx) on a host. */
  script(host: string, path: string, args: string[], env: NodeJS.ProcessEnv): Proc;
  /** Cut a host off the network; `procs` are its processes (the loopback variant freezes them). */
  partition(host: string, procs: readonly Proc[]): void;
  /** Remove the namespaces (idempotent). */
  remove(): void;
}

const PREFIX = "wn";
const SUBNET = "10.213.0";

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function namespaces(): string[] {
  return ip(["netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.length > 0);
}

/** Remove the namespaces of earlier runs whose process is gone. */
function removeLeftovers(): void {
  for (const ns of namespaces()) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (m !== null && !alive(Number(m[1]))) {
      try {
        ip(["netns", "del", ns]);
      } catch {
        // removed meanwhile
      }
    }
  }
}

/** Why namespaces cannot be used here, or undefined when they can. */
function netnsUnavailable(): string | undefined {
  if (process.env.WEIR_TEST_NETNS === "0") return "WEIR_TEST_NETNS=0";
  if (process.getuid?.() !== 0) return "not root";
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip(["netns", "add", probe]);
    ip(["netns", "del", probe]);
    return undefined;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? (e as Error).message;
    return `'ip netns add' failed: ${stderr.trim()}`;
  }
}

const TSX = ["--import", "tsx"];

/** Hosts named `names` (the first is 10.213.0.1, or 127.0.0.1 on loopback, and so on). */
export function makeHosts(names: readonly string[]): Hosts {
  const why = netnsUnavailable();
  const index = (host: string) => {
    const i = names.indexOf(host);
    if (i < 0) throw new Error(`no host '${host}' (hosts: ${names.join(", ")})`);
    return i;
  };
  if (why !== undefined) {
    return {
      kind: "loopback",
      why,
      address: (host) => `127.0.0.${index(host) + 1}`,
      weir: (_host, args, env) => startProcess(args, env),
      script: (_host, path, args, env) => startCommand([process.execPath, ...TSX, path, ...args], env),
      partition: (_host, procs) => {
        for (const p of procs) p.child.kill("SIGSTOP");
      },
      remove: () => {},
    };
  }
  removeLeftovers();
  const ns = (host: string) => `${PREFIX}${process.pid}-${host}`;
  const hub = `${PREFIX}${process.pid}-switch`;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const n of [...names.map(ns), hub]) {
      try {
        ip(["netns", "del", n]);
      } catch {
        // never made
      }
    }
  };
  process.once("exit", remove);
  try {
    ip(["netns", "add", hub]);
    ip(["-n", hub, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", hub, "link", "set", "br0", "up"]);
    names.forEach((host, i) => {
      const n = ns(host);
      ip(["netns", "add", n]);
      ip(["link", "add", "name", "eth0", "netns", n, "type", "veth", "peer", "name", `v${i}`, "netns", hub]);
      ip(["-n", hub, "link", "set", `v${i}`, "master", "br0", "up"]);
      ip(["-n", n, "addr", "add", `${SUBNET}.${i + 1}/24`, "dev", "eth0"]);
      ip(["-n", n, "link", "set", "eth0", "up"]);
      ip(["-n", n, "link", "set", "lo", "up"]);
    });
  } catch (e) {
    remove();
    throw e;
  }
  const exec = (host: string) => ["ip", "netns", "exec", ns(host)];
  return {
    kind: "network namespaces",
    why: undefined,
    address: (host) => `${SUBNET}.${index(host) + 1}`,
    weir: (host, args, env) => startProcess(args, env, exec(host)),
    script: (host, path, args, env) =>
      startCommand([...exec(host), process.execPath, ...TSX, path, ...args], env),
    partition: (host) => {
      ip(["-n", hub, "link", "set", `v${index(host)}`, "down"]);
    },
    remove,
  };
}

/** The client script of these tests (submit, follow, print the end as JSON). */
export const NETNS_CLIENT = join(ROOT, "test", "cluster", "netns-client.ts");

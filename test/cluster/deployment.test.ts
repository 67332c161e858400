// The deployment files (deploy/k8s/*.yaml, deploy/systemd/*) agree with the CLI: every flag they
// pass is an option of that command (read from src/cli/cluster-options.ts, parsed by the CLI's own
// parser), the ports they open and probe are the ones the flags (or their defaults) make the
// processes listen on, the Services point at them, and the token, TLS files, S3 credentials and
// etcd endpoints they name exist where they say. See docs/deployment.md.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { type OptionSpec, type ParsedArgs, parseArgs } from "../../src/cli/args.ts";
import {
  CLUSTER_TOKEN_ENV,
  JOBMANAGER,
  JOBMANAGER_PORT,
  TASKMANAGER,
} from "../../src/cli/cluster-options.ts";
import type { CommandSpec } from "../../src/cli/commands.ts";
import { FLINK_REST_PORT } from "../../src/web/rest-server.ts";
import { ROOT } from "./process-cluster.ts";

/**
 * Flags of issue #11 that other branches add (cluster-ha: --ha; cluster-rest: --log-file,
 * --log-level). A manifest may use them before they are options here; once they are, they are
 * checked like any other. Remove a name when its branch has landed.
 */
const LANDING = ["ha", "log-file", "log-level"];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  readinessProbe?: { tcpSocket?: { port: number | string }; httpGet?: { port: number | string } };
  livenessProbe?: { tcpSocket?: { port: number | string }; httpGet?: { port: number | string } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

const K8S = join(ROOT, "deploy", "k8s");
const SYSTEMD = join(ROOT, "deploy", "systemd");

function loadK8s(): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), "utf8"))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const o = doc.toJS() as K8sObject | null;
      if (o === null) continue;
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${file}: an object with apiVersion, kind, name`);
      objects.push(o);
    }
  }
  return objects;
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o !== undefined, `a ${kind} named ${name}`);
  return o;
}

/** Parse argv with the command's options (and the landing ones it lacks yet), as the CLI does. */
function parseCommand(spec: CommandSpec, argv: readonly string[], where: string): ParsedArgs {
  const known = new Set(spec.options.map((o) => o.name));
  const landing: OptionSpec[] = LANDING.filter((n) => !known.has(n)).map((name) => ({
    name,
    value: "x",
    help: "landing from another branch",
  }));
  try {
    return parseArgs(spec.name, argv, [...spec.options, ...landing]);
  } catch (e) {
    throw new Error(
      `${where}: 'weir ${spec.name} ${argv.join(" ")}' is not accepted: ${(e as Error).message}`,
    );
  }
}

function podContainer(o: K8sObject): {
  container: Container;
  labels: Record<string, string>;
  volumes: unknown[];
} {
  const template = o.spec.template;
  assert.equal(template.spec.containers.length, 1, `${o.metadata.name}: one container`);
  return {
    container: template.spec.containers[0] as Container,
    labels: template.metadata.labels,
    volumes: template.spec.volumes ?? [],
  };
}

function containerPort(c: Container, port: number | string | undefined, what: string): number {
  assert.ok(port !== undefined, `${what}: a port`);
  if (typeof port === "number") {
    assert.ok(
      c.ports?.some((p) => p.containerPort === port),
      `${what}: port ${port} is a container port`,
    );
    return port;
  }
  const named = c.ports?.find((p) => p.name === port);
  assert.ok(named !== undefined, `${what}: the named port '${port}' is a container port`);
  return named.containerPort;
}

/** The weir command line of a container, its $(VAR) references checked against its env. */
function weirArgv(c: Container, command: string): string[] {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  assert.equal(argv[0], "weir", `${c.name}: runs weir`);
  assert.equal(argv[1], command, `${c.name}: runs weir ${command}`);
  const defined = new Set((c.env ?? []).map((e) => e.name));
  for (const a of argv) {
    for (const m of a.matchAll(/\$\((\w+)\)/g))
      assert.ok(defined.has(m[1]!), `${c.name}: $(${m[1]}) is in env`);
  }
  assert.ok(!argv.includes("--token"), `${c.name}: the token is not on the command line (ps shows it)`);
  return argv.slice(2);
}

function secretKeys(objects: K8sObject[], name: string): string[] {
  const s = find(objects, "Secret", name);
  return Object.keys({ ...s.stringData, ...s.data });
}

/** The token comes from a Secret's key, in the variable the CLI reads. */
function checkToken(objects: K8sObject[], c: Container): void {
  const env = c.env?.find((e) => e.name === CLUSTER_TOKEN_ENV);
  const ref = env?.valueFrom?.secretKeyRef;
  assert.ok(ref !== undefined, `${c.name}: ${CLUSTER_TOKEN_ENV} from a Secret`);
  assert.ok(
    secretKeys(objects, ref.name!).includes(ref.key!),
    `${c.name}: Secret ${ref.name} has key ${ref.key}`,
  );
}

/** Each --tls-* file is a key of the Secret mounted at its directory. */
function checkTlsFiles(objects: K8sObject[], c: Container, volumes: unknown[], p: ParsedArgs): void {
  const files = ["tls-cert", "tls-key", "tls-ca"].map((k) => p.values.get(k));
  assert.ok(
    files.every((f) => f !== undefined),
    `${c.name}: --tls-cert, --tls-key and --tls-ca (all three, as the CLI requires)`,
  );
  for (const f of files as string[]) {
    const mount = c.volumeMounts?.find((m) => m.mountPath === dirname(f));
    assert.ok(mount !== undefined, `${c.name}: ${dirname(f)} is mounted`);
    const volume = (volumes as Array<{ name: string; secret?: { secretName: string } }>).find(
      (v) => v.name === mount.name,
    );
    assert.ok(volume?.secret !== undefined, `${c.name}: ${dirname(f)} is a Secret`);
    assert.ok(
      secretKeys(objects, volume.secret.secretName).includes(basename(f)),
      `${c.name}: Secret ${volume.secret.secretName} has ${basename(f)}`,
    );
  }
}

/** Checkpoints on S3, with the AWS SDK's credentials from a Secret. */
function checkS3(objects: K8sObject[], c: Container): void {
  const from = c.envFrom?.map((e) => e.secretRef?.name).filter((n): n is string => n !== undefined) ?? [];
  const keys = from.flatMap((n) => secretKeys(objects, n));
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    assert.ok(keys.includes(k), `${c.name}: ${k} from a Secret`);
}

/** --ha etcd://host:port names the etcd Service and its client port. */
function checkHa(objects: K8sObject[], p: ParsedArgs, who: string): void {
  const ha = p.values.get("ha");
  assert.ok(ha !== undefined, `${who}: --ha`);
  const m = /^etcd:\/\/([^:/,]+):(\d+)$/.exec(ha);
  assert.ok(m !== null, `${who}: --ha ${ha} is etcd://host:port`);
  const service = find(objects, "Service", m[1]!);
  const port = (service.spec.ports as Array<{ port: number; targetPort: string }>).find(
    (x) => x.port === Number(m[2]),
  );
  assert.ok(port !== undefined, `${who}: Service ${m[1]} serves port ${m[2]}`);
  const etcd = objects.find(
    (o) =>
      o.kind === "StatefulSet" &&
      Object.entries(service.spec.selector).every(([k, v]) => o.spec.template.metadata.labels[k] === v),
  );
  assert.ok(etcd !== undefined, `${who}: the etcd Service selects a StatefulSet`);
  const { container } = podContainer(etcd);
  containerPort(container, port.targetPort, `etcd's client port`);
  assert.ok(etcd.spec.replicas >= 3, "etcd has three members");
}

function checkService(service: K8sObject, labels: Record<string, string>, c: Container): void {
  for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>))
    assert.equal(labels[k], v, `Service ${service.metadata.name} selects the pods (${k})`);
  for (const port of service.spec.ports as Array<{
    name: string;
    port: number;
    targetPort?: number | string;
  }>) {
    const target = containerPort(
      c,
      port.targetPort ?? port.port,
      `Service ${service.metadata.name} ${port.name}`,
    );
    assert.equal(port.port, target, `Service ${service.metadata.name}: ${port.name} keeps the port number`);
  }
}

describe("the Kubernetes manifests (deploy/k8s) agree with the CLI", () => {
  const objects = loadK8s();

  it("the JobManager: flags, ports, probes, Service, token, TLS, S3, etcd", () => {
    const deployment = find(objects, "Deployment", "weir-jobmanager");
    const { container: c, labels, volumes } = podContainer(deployment);
    const p = parseCommand(JOBMANAGER, weirArgv(c, "jobmanager"), "deploy/k8s/jobmanager.yaml");
    const rpc = Number(p.values.get("port") ?? JOBMANAGER_PORT);
    const rest = Number(p.values.get("rest-port") ?? FLINK_REST_PORT);
    assert.equal(containerPort(c, "rpc", "rpc"), rpc, "the rpc container port is --port");
    assert.equal(containerPort(c, "rest", "rest"), rest, "the rest container port is --rest-port");
    const probe = (x: Container["readinessProbe"]) => x?.tcpSocket?.port ?? x?.httpGet?.port;
    assert.equal(containerPort(c, probe(c.readinessProbe), "readiness probe"), rest);
    // A standby opens its RPC port only when it leads: a liveness probe there would restart it.
    assert.equal(containerPort(c, probe(c.livenessProbe), "liveness probe"), rest);
    checkService(find(objects, "Service", "weir-jobmanager"), labels, c);
    assert.equal(p.values.get("address"), "$(POD_IP)", "listens on (and advertises) the pod's IP");
    assert.equal(
      c.env?.find((e) => e.name === "POD_IP")?.valueFrom?.fieldRef?.fieldPath,
      "status.podIP",
      "POD_IP is the pod's IP",
    );
    checkToken(objects, c);
    checkTlsFiles(objects, c, volumes, p);
    assert.match(p.values.get("checkpoint-dir") ?? "", /^s3:\/\/[^/]+\/.+/, "checkpoints on S3");
    checkS3(objects, c);
    checkHa(objects, p, "jobmanager");
  });

  it("the TaskManagers: flags, the JobManager's address, data port, probe, token, TLS", () => {
    const sts = find(objects, "StatefulSet", "weir-taskmanager");
    const { container: c, volumes } = podContainer(sts);
    const p = parseCommand(TASKMANAGER, weirArgv(c, "taskmanager"), "deploy/k8s/taskmanager.yaml");
    const m = /^([^:]+):(\d+)$/.exec(p.values.get("jobmanager") ?? "");
    assert.ok(m !== null, "-m/--jobmanager host:port");
    const jmService = find(objects, "Service", m[1]!);
    const rpc = (jmService.spec.ports as Array<{ name: string; port: number }>).find((x) => x.name === "rpc");
    assert.equal(Number(m[2]), rpc?.port, "TaskManagers dial the JobManager Service's rpc port");
    const data = Number(p.values.get("data-port"));
    assert.ok(data > 0, "a fixed --data-port (the default 0 picks a random one, which no probe can name)");
    assert.equal(containerPort(c, "data", "data"), data, "the data container port is --data-port");
    assert.equal(containerPort(c, c.livenessProbe?.tcpSocket?.port, "liveness probe"), data);
    assert.ok(Number(p.values.get("slots")) >= 1, "--slots");
    assert.equal(
      p.values.get("id"),
      "$(POD_NAME)",
      "the StatefulSet's stable pod name is the TaskManager id",
    );
    const headless = find(objects, "Service", sts.spec.serviceName);
    assert.equal(headless.spec.clusterIP, "None", "the StatefulSet's Service is headless");
    checkToken(objects, c);
    checkTlsFiles(objects, c, volumes, p);
    checkS3(objects, c);
    checkHa(objects, p, "taskmanager");
  });
});

/** KEY=value lines of an environment file. */
function envFile(path: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const kv = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (kv !== null) m.set(kv[1]!, kv[2]!);
  }
  return m;
}

/** ExecStart of a unit, split as systemd does for unquoted words, ${VAR}s checked against `env`. */
function execStart(unit: string, env: Map<string, string>): string[] {
  const text = readFileSync(join(SYSTEMD, unit), "utf8");
  const lines = text.split("\n").filter((l) => l.startsWith("ExecStart="));
  assert.equal(lines.length, 1, `${unit}: one ExecStart`);
  assert.match(text, /^EnvironmentFile=\/etc\/weir\/weir\.env$/m, `${unit}: reads /etc/weir/weir.env`);
  const argv = lines[0]!.slice("ExecStart=".length).trim().split(/\s+/);
  assert.match(argv[0]!, /\/weir$/, `${unit}: runs weir`);
  for (const a of argv) {
    for (const m of a.matchAll(/\$\{(\w+)\}/g))
      assert.ok(env.has(m[1]!), `${unit}: \${${m[1]}} is in weir.env`);
  }
  assert.ok(!argv.includes("--token"), `${unit}: the token is not on the command line`);
  return argv.slice(1);
}

describe("the systemd units (deploy/systemd) agree with the CLI", () => {
  const env = envFile(join(SYSTEMD, "weir.env"));

  it("weir-jobmanager.service and weir-taskmanager.service", () => {
    assert.ok(env.has(CLUSTER_TOKEN_ENV), `weir.env sets ${CLUSTER_TOKEN_ENV}`);
    const jmArgv = execStart("weir-jobmanager.service", env);
    assert.equal(jmArgv[0], "jobmanager");
    const jm = parseCommand(JOBMANAGER, jmArgv.slice(1), "weir-jobmanager.service");
    const tmArgv = execStart("weir-taskmanager.service", env);
    assert.equal(tmArgv[0], "taskmanager");
    const tm = parseCommand(TASKMANAGER, tmArgv.slice(1), "weir-taskmanager.service");
    // The TaskManagers dial the port the JobManager listens on.
    const jmPort = Number(jm.values.get("port") ?? JOBMANAGER_PORT);
    const dialled = (tm.values.get("jobmanager") ?? "").replace(
      /\$\{(\w+)\}/g,
      (_, k: string) => env.get(k) ?? "",
    );
    assert.match(dialled, new RegExp(`:${jmPort}$`), "the TaskManager dials the JobManager's --port");
    assert.ok(Number(tm.values.get("data-port")) > 0, "a fixed data port (for the firewall)");
    for (const [name, p] of [
      ["jobmanager", jm],
      ["taskmanager", tm],
    ] as const) {
      for (const k of ["tls-cert", "tls-key", "tls-ca"]) assert.ok(p.values.has(k), `${name}: --${k}`);
      assert.equal(p.values.get("ha"), `\${WEIR_HA}`, `${name}: --ha from weir.env`);
      assert.match(
        env.get("WEIR_HA") ?? "",
        /^etcd:\/\/[^,]+:\d+(,[^,]+:\d+)*$/,
        "WEIR_HA is etcd://host:port,...",
      );
    }
  });
});

// `weir jobmanager --ha` and `weir taskmanager --ha` from the command line: the options in the
// help, and the mistakes refused before anything starts (one line: what, and what to do).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertOneLineError, weir } from "./cli-harness.ts";

describe("weir jobmanager --ha (command line)", () => {
  it("the help shows the high-availability options", async () => {
    const jm = await weir(["jobmanager", "--help"]);
    assert.equal(jm.code, 0, jm.stderr);
    for (const o of ["--ha", "--ha-storage-dir", "--ha-cluster-id", "--ha-lease-ttl"])
      assert.ok(jm.stdout.includes(o), o);
    const tm = await weir(["taskmanager", "--help"]);
    assert.match(tm.stdout, /--ha /);
    assert.match(tm.stdout, /host:port\[,host:port\]/);
  });

  it("needs a directory every JobManager shares", async () => {
    const r = await weir(["jobmanager", "--port", "0", "--ha", "etcd://127.0.0.1:2379"]);
    assertOneLineError(r, 2, "--ha-storage-dir");
  });

  it("refuses application mode and a bad lease TTL", async () => {
    const app = await weir([
      "jobmanager",
      "--ha",
      "etcd://127.0.0.1:2379",
      "--ha-storage-dir",
      "/tmp/x",
      "--job",
      "j.ts",
    ]);
    assertOneLineError(app, 2, "application mode");
    const ttl = await weir([
      "jobmanager",
      "--ha",
      "etcd://127.0.0.1:2379",
      "--ha-storage-dir",
      "/tmp/x",
      "--ha-lease-ttl",
      "1",
    ]);
    assertOneLineError(ttl, 2, "--ha-lease-ttl");
  });

  it("a TaskManager needs -m or --ha", async () => {
    const r = await weir(["taskmanager", "--slots", "1"]);
    assertOneLineError(r, 2, "--ha etcd://");
  });
});

// TLS for the cluster's RPC, data exchange and REST API, with certificates made by openssl for the
// test (a CA and a leaf it signed; a rogue CA and its leaf): a word count across two TaskManagers
// over TLS equals a plain count; the REST API answers https; a client without the CA, a client
// trusting another CA, and a TaskManager with a certificate of another CA are each refused with
// one clear error; the cluster token is still checked inside TLS.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { get } from "node:https";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { ClusterConnectionError, dial, listenFrames } from "../../src/cluster/rpc/frame-socket.ts";
import { corpus, countWords, finalWordCounts } from "../fixtures/helpers.ts";
import { type TestCluster, startCluster, startProcess } from "./process-cluster.ts";
import { type TestCertificates, makeTestCertificates, tlsFlags } from "./tls-certs.ts";

const JOB = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));
const WORDS = 40_000;
const ENV = { WEIR_TEST_WC_WORDS: String(WORDS), WEIR_TEST_WC_VOCAB: "2000", WEIR_TEST_WC_SEED: "5" };
const TOKEN = "tls-test-cluster-token";

/** GET over https, trusting `ca`; resolves the status and body. */
function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("a cluster with TLS (certificates made by openssl)", () => {
  let certs: TestCertificates;
  let cluster: TestCluster;
  let ca: Buffer;
  before(async () => {
    certs = makeTestCertificates();
    ca = readFileSync(certs.ca);
    cluster = await startCluster({
      taskManagers: 2,
      slots: 1,
      token: TOKEN,
      env: ENV,
      args: tlsFlags(certs.cert, certs.key, certs.ca),
    });
  });
  after(async () => {
    await cluster?.stop();
    certs?.remove();
  });

  it("counts words across two TaskManagers over TLS exactly as a plain count; REST is https", async () => {
    const client = new ClusterClient(cluster.address, TOKEN, { ca });
    try {
      const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
      const end = await job.ended;
      assert.equal(end.status, "FINISHED", String(end.error));
      const values = end.result!.collected!.get("counts")!;
      assert.equal(values.length, WORDS);
      assert.deepStrictEqual(finalWordCounts(values), countWords(corpus(WORDS, 2000, 5)));
      assert.match(cluster.jobManager.err(), /deployment \d+ on (tm-0, tm-1|tm-1, tm-0)/);
    } finally {
      client.close();
    }
    assert.match(cluster.restUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await httpsGet(`${cluster.restUrl}/taskmanagers`, ca, TOKEN);
    assert.equal(r.status, 200, r.body);
    const { taskmanagers } = JSON.parse(r.body) as { taskmanagers: Array<{ id: string; dataPort: number }> };
    assert.deepEqual(taskmanagers.map((t) => t.id).sort(), ["tm-0", "tm-1"]);
    // Plain http is not answered by the https port.
    await assert.rejects(fetch(`${cluster.restUrl.replace("https:", "http:")}/taskmanagers`));
    // The TaskManagers' data ports speak TLS too: a plain data connection gets nowhere, and a
    // TLS one without a certificate of the CA is refused at its hello.
    const dataPort = taskmanagers[0]!.dataPort;
    await assert.rejects(
      dial("127.0.0.1", dataPort, { role: "data", token: TOKEN, id: "intruder" }, 5_000, true),
      ClusterConnectionError,
    );
    await assert.rejects(
      dial("127.0.0.1", dataPort, { role: "data", token: TOKEN, id: "intruder" }, 5_000, true, { ca }),
      /refused the connection: the TaskManager presented no TLS certificate/,
    );
  });

  it("refuses a client without the CA, or trusting another CA, with one clear error", async () => {
    const plain = startProcess(["list", "-m", cluster.address], { WEIR_CLUSTER_TOKEN: TOKEN });
    assert.equal(await plain.exited, 1, plain.err());
    assert.match(
      plain.err(),
      /^weir: cannot connect to 127\.0\.0\.1:\d+: .*If the cluster uses TLS, pass --tls-ca/m,
    );
    const rogue = startProcess(["list", "-m", cluster.address, "--tls-ca", certs.rogueCa], {
      WEIR_CLUSTER_TOKEN: TOKEN,
    });
    assert.equal(await rogue.exited, 1, rogue.err());
    assert.match(
      rogue.err(),
      /^weir: cannot connect to 127\.0\.0\.1:\d+ over TLS: its certificate is not trusted \(.+\); pass the CA that signed the cluster's certificates with --tls-ca/m,
    );
    assert.equal(rogue.err().trim().split("\n").length, 1, rogue.err());
    const ok = startProcess(["list", "-m", cluster.address, "--tls-ca", certs.ca], {
      WEIR_CLUSTER_TOKEN: TOKEN,
    });
    assert.equal(await ok.exited, 0, ok.err());
    // The job list (the word count's, when the test above ran first).
    assert.match(ok.out(), /^No jobs\.$|wordcount-fixture \(FINISHED\)/m);
  });

  it("refuses a TaskManager with a certificate of another CA, and one with a wrong token", async () => {
    // A TaskManager dials the JobManager's RPC port (clients' -m is the REST one).
    const rpc = `127.0.0.1:${cluster.port}`;
    const rogue = startProcess(
      ["taskmanager", "-m", rpc, "--id", "tm-rogue", ...tlsFlags(certs.rogueCert, certs.rogueKey, certs.ca)],
      { WEIR_CLUSTER_TOKEN: TOKEN },
    );
    assert.equal(await rogue.exited, 1, rogue.err());
    assert.match(
      rogue.err(),
      /^weir: TaskManager tm-rogue cannot join the JobManager at 127\.0\.0\.1:\d+: .*refused the connection: the TaskManager's TLS certificate is not signed by the cluster's CA/m,
    );
    const wrongToken = startProcess(
      ["taskmanager", "-m", rpc, "--id", "tm-token", ...tlsFlags(certs.cert, certs.key, certs.ca)],
      { WEIR_CLUSTER_TOKEN: "not-the-token" },
    );
    assert.equal(await wrongToken.exited, 1, wrongToken.err());
    assert.match(
      wrongToken.err(),
      /^weir: TaskManager tm-token cannot join .*refused the connection: wrong cluster token/m,
    );
    const client = new ClusterClient(cluster.address, TOKEN, { ca });
    try {
      assert.deepEqual((await client.taskManagers()).map((t) => t.id).sort(), ["tm-0", "tm-1"]);
    } finally {
      client.close();
    }
    for (const text of [rogue.err(), wrongToken.err(), cluster.jobManager.err(), cluster.jobManager.out()]) {
      for (const secret of [TOKEN, "not-the-token"]) assert.ok(!text.includes(secret), `'${secret}' printed`);
    }
  });

  it("a JobManager given only some of the TLS files says which are missing", async () => {
    const jm = startProcess(["jobmanager", "--port", "0", "--rest-port", "0", "--tls-cert", certs.cert], {});
    assert.equal(await jm.exited, 2, jm.err());
    assert.match(
      jm.err(),
      /^weir: 'weir jobmanager' got --tls-cert but not --tls-key, --tls-ca; .*needs all three/m,
    );
  });
});

describe("TLS frames in one process", () => {
  it("serve hellos by role, and close with TLS connections open", async () => {
    const certs = makeTestCertificates();
    try {
      const read = (f: string) => readFileSync(f);
      const tls = { ca: read(certs.ca), cert: read(certs.cert), key: read(certs.key) };
      const accepted: string[] = [];
      const refused: string[] = [];
      const server = await listenFrames(
        "127.0.0.1",
        0,
        "t",
        (socket, hello) => {
          accepted.push(hello.role);
          socket.onFrame((m) => socket.send({ echo: m }));
        },
        (_remote, why) => refused.push(why),
        tls,
      );
      try {
        // A client needs only the CA; a TaskManager needs a certificate of the CA.
        const client = await dial("127.0.0.1", server.port, { role: "client", token: "t" }, 5_000, false, {
          ca: tls.ca,
        });
        const echoed = new Promise((resolve) => client.onFrame(resolve));
        client.send({ n: 1 });
        assert.deepEqual(await echoed, { echo: { n: 1 } });
        await assert.rejects(
          dial("127.0.0.1", server.port, { role: "taskmanager", token: "t", id: "x" }, 5_000, false, {
            ca: tls.ca,
          }),
          (e: ClusterConnectionError) => e.permanent && /presented no TLS certificate/.test(e.message),
        );
        const rogue = { ca: tls.ca, cert: read(certs.rogueCert), key: read(certs.rogueKey) };
        await assert.rejects(
          dial("127.0.0.1", server.port, { role: "data", token: "t", id: "x" }, 5_000, true, rogue),
          /not signed by the cluster's CA/,
        );
        const tm = await dial(
          "127.0.0.1",
          server.port,
          { role: "taskmanager", token: "t", id: "y" },
          5_000,
          false,
          tls,
        );
        assert.deepEqual(accepted, ["client", "taskmanager"]);
        assert.equal(refused.length, 2, refused.join("; "));
        // Closing the listener ends the open TLS connections.
        const closed = Promise.all([client, tm].map((s) => new Promise<void>((r) => s.onClose(() => r()))));
        await server.close();
        await closed;
      } finally {
        await server.close();
      }
    } finally {
      certs.remove();
    }
  });
});

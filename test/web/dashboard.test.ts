// The web dashboard in a real browser: Debian's Chromium (/usr/bin/chromium, driven by
// playwright-core) opens the REST server's `/` while real jobs run in this process. The job list
// names the jobs; the job page draws every vertex of the job graph, its counters move, a checkpoint
// shows in the history, the savepoint button writes a savepoint, the cancel button cancels the job;
// a backpressured vertex is red and a busy one orange; the watermark doctor names the split that
// holds the windows back; a failed job shows its last state and its exception; with a token, `?token=` signs the page in and the token leaves the address bar. Also
// a cluster's TaskManagers (list, details, log, stdout) as the JobManager serves them; and
// the static file serving itself (content types, HEAD, no path traversal, API routes unchanged).
// Screenshots go to test-artifacts/dashboard/ (printed). Only loopback traffic.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";
import {
  type ManagedJobClient,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { startJobManagerRest } from "../../src/cli/jobmanager-rest.ts";
import { JobManager } from "../../src/cluster/jobmanager/job-manager.ts";
import { TaskManager } from "../../src/cluster/taskmanager/task-manager.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { findDashboardDir } from "../../src/web/static-files.ts";
import { FIXTURES, spawnWeir } from "../cli/cli-harness.ts";
import { buildBackpressureJob } from "../fixtures/backpressure-job.ts";
import { type ScriptedRecord, ScriptedSplitSource } from "../metrics/scripted-splits.ts";

const CHROMIUM = process.env.WEIR_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/dashboard/", import.meta.url));
/** Generous: the machine is shared, and Chromium starts slowly on a loaded one. */
const WAIT = 60_000;

interface Event {
  key: string;
  t: number;
}

/** Unbounded: events 2 s old (so the watermark lags), counted per key, into a sink that drops them. */
function buildRunningJob(env: StreamExecutionEnvironment): void {
  env
    .fromGenerator<Event>((i) => ({ key: `k${i % 5}`, t: Date.now() - 2000 }), { recordsPerSecond: 2000 })
    .name("Events")
    .uid("events")
    .setParallelism(1)
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<Event>(100).withTimestampAssigner((e) => e.t),
    )
    .setParallelism(1)
    .keyBy((e) => e.key)
    .map((e) => e.key)
    .name("Count")
    .uid("count")
    .setParallelism(2)
    .sinkTo({ createWriter: () => ({ write() {} }) }, "Discard")
    .setParallelism(1);
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/** Wait until `selector` matches exactly `n` elements of the page. */
async function waitForCount(page: Page, selector: string, n: number): Promise<void> {
  await page.waitForFunction(
    `document.querySelectorAll(${JSON.stringify(selector)}).length === ${n}`,
    undefined,
    {
      timeout: WAIT,
    },
  );
}

/** The status and headers of a request, for the static-file checks (fetch hides HEAD bodies anyway). */
function raw(url: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"] ?? "", body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("web dashboard", { concurrency: false }, () => {
  const scratch = mkdtempSync(join(tmpdir(), "weir-dashboard-"));
  let browser: Browser;
  let server: RestServer;
  let running: ManagedJobClient;
  let failed: ManagedJobClient;
  const jobs: JobMetrics[] = [];

  before(async () => {
    assert.ok(
      findDashboardDir() !== undefined,
      "the dashboard is not built (dist/dashboard/index.html): run `npm run build` (npm ci does it)",
    );
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's browser with 'apt-get install -y --no-install-recommends chromium' (.ci/run does), or set WEIR_CHROMIUM`,
    );
    const failing = new StreamExecutionEnvironment({ parallelism: 1 });
    failing
      .fromElements(1, 2, 3)
      .name("Numbers")
      .map((x: number) => {
        if (x === 2) throw new Error("two is not allowed here");
        return x;
      })
      .name("Picky")
      .sinkTo({ createWriter: () => ({ write() {} }) }, "Nowhere");
    failed = await failing.executeAsync("dashboard-failing");
    await failed.wait().catch(() => {});
    const env = new StreamExecutionEnvironment({
      parallelism: 2,
      checkpointInterval: 300,
      checkpointDirectory: join(scratch, "checkpoints"),
    });
    buildRunningJob(env);
    running = await env.executeAsync("dashboard-running");
    jobs.push(failed.metrics, running.metrics);
    const clients = new Map<string, ManagedJobClient>([
      [running.jobId, running],
      [failed.jobId, failed],
    ]);
    server = await startRestServer({ port: 0, jobs: () => jobs, control: (id) => clients.get(id) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
      timeout: 60_000,
    });
  });

  after(async () => {
    await browser?.close();
    await running?.cancel();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves the built files at / with their content types, and leaves the API as it was", async () => {
    const index = await raw(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    assert.ok(asset !== undefined, `index.html names its script: ${index.body}`);
    const js = await raw(`${server.url}/${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
    const css = /href="\.\/(assets\/[^"]+\.css)"/.exec(index.body)?.[1];
    assert.match((await raw(`${server.url}/${css}`)).type, /^text\/css/);
    const head = await raw(`${server.url}/`, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal((await raw(`${server.url}/assets/nope.js`)).status, 404);
    for (const sneaky of ["/assets/..%2f..%2fpackage.json", "/assets/%2e%2e/%2e%2e/package.json"]) {
      const r = await raw(`${server.url}${sneaky}`);
      assert.equal(r.status, 404, sneaky);
      assert.doesNotMatch(r.body, /weir-stream/);
    }
    const api = await raw(`${server.url}/jobs/overview`);
    assert.match(api.type, /application\/json/);
    assert.equal((JSON.parse(api.body) as { jobs: unknown[] }).jobs.length, 2);
    const plan = JSON.parse((await raw(`${server.url}/jobs/${running.jobId}/plan`)).body) as {
      plan: { nodes: Array<{ id: string; inputs: Array<{ id: string; ship_strategy: string }> }> };
    };
    const name = (id: string) => running.metrics.vertices.find((v) => String(v.id) === id)?.name;
    const edges = plan.plan.nodes.flatMap((n) =>
      n.inputs.map((i) => `${name(i.id)} -> ${name(n.id)}: ${i.ship_strategy}`),
    );
    assert.deepEqual(edges, [
      "Events -> Timestamps/Watermarks -> Count: HASH",
      "Count -> Discard: REBALANCE",
    ]);
  });

  it("lists the jobs, draws the running job's graph, and its counters move", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${server.url}/`);
      const link = page.locator(`tr[data-jid="${running.jobId}"] a`);
      await link.waitFor({ timeout: WAIT });
      assert.equal(await link.textContent(), "dashboard-running");
      await page.locator(`tr[data-jid="${failed.jobId}"]`).waitFor({ timeout: WAIT });
      await shot(page, "job-list.png");

      await link.click();
      const vertices = page.locator("svg.job-graph g.vertex");
      await waitForCount(page, "svg.job-graph g.vertex", running.metrics.vertices.length);
      const names = await vertices.evaluateAll((els) => els.map((e) => e.getAttribute("data-vertex-name")));
      assert.deepEqual(
        names.sort(),
        running.metrics.vertices.map((v) => v.name).sort(),
        "one box per vertex of the job graph",
      );
      assert.equal(await page.locator("svg.job-graph g.edge").count(), 2);

      // The source's record count, as the page shows it, grows between two polls.
      const count = page.locator('g.vertex[data-vertex-name^="Events"] [data-testid="vertex-records-out"]');
      await page.waitForFunction((el) => Number(el?.textContent) > 0, await count.elementHandle(), {
        timeout: WAIT,
      });
      const first = Number(await count.textContent());
      await page.waitForFunction(
        (args) => Number(args.el?.textContent) > args.first,
        {
          el: await count.elementHandle(),
          first,
        },
        { timeout: WAIT },
      );
      // A completed checkpoint in the history, the subtask table of the selected vertex, the chart.
      await page.locator('[data-testid="checkpoints"] tbody tr').first().waitFor({ timeout: WAIT });
      await page.locator('[data-testid="subtasks"] tbody tr').first().waitFor({ timeout: WAIT });
      await page.locator(".uplot canvas").waitFor({ timeout: WAIT });
      await page.locator('g.vertex[data-vertex-name="Count"]').click();
      await waitForCount(page, '[data-testid="subtasks"] tbody tr', 2);
      // The subtask table's 15 columns scroll inside their card: the page itself is not wider.
      const overflow = (await page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth",
      )) as number;
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
      await shot(page, "job-running.png");
    } finally {
      await page.close();
    }
  });

  it("takes a savepoint and cancels the job from its page", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("dialog", (d) => void d.accept());
    try {
      await page.goto(`${server.url}/#/jobs/${running.jobId}`);
      const target = join(scratch, "savepoints");
      await page.locator("input.savepoint-dir").fill(target);
      await page.locator('[data-testid="savepoint"]').click();
      const message = page.locator('[data-testid="action-message"]');
      await page.waitForFunction(
        (el) => /Savepoint written to|failed/.test(el?.textContent ?? ""),
        await message.elementHandle({ timeout: WAIT }),
        { timeout: WAIT },
      );
      const text = (await message.textContent()) ?? "";
      assert.match(text, /^Savepoint written to /, text);
      const location = text.replace(/^Savepoint written to /, "");
      assert.ok(location.startsWith(target), location);
      assert.ok(readdirSync(location).includes("_metadata"), `${location} holds a savepoint`);

      await page.locator('[data-testid="cancel"]').click();
      await page.locator('.job-page[data-state="CANCELED"]').waitFor({ timeout: WAIT });
      assert.equal(running.getStatus(), "CANCELED");
      assert.equal(await page.locator('[data-testid="cancel"]').isDisabled(), true);
      // The cancelled job keeps its graph and counts.
      assert.equal(await page.locator("svg.job-graph g.vertex").count(), running.metrics.vertices.length);
      await shot(page, "job-cancelled.png");
    } finally {
      await page.close();
    }
  });

  it("colours a backpressured vertex red and a busy one orange", async () => {
    // A fast source into a sink that burns CPU on every record: the source waits on credit.
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    buildBackpressureJob(env, Number.POSITIVE_INFINITY, 100, 20_000);
    const slow = await env.executeAsync("dashboard-backpressure");
    jobs.push(slow.metrics);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${server.url}/#/jobs/${slow.jobId}`);
      await page.locator('g.vertex[data-vertex-name*="generator"][data-load="backpressured"]').waitFor({
        timeout: WAIT,
      });
      await page
        .locator('g.vertex[data-vertex-name="slow sink"][data-load="busy"]')
        .waitFor({ timeout: WAIT });
      const fill = await page
        .locator('g.vertex[data-load="backpressured"] rect.vertex-box')
        .getAttribute("fill");
      const [r, g] = /rgb\((\d+), (\d+)/
        .exec(fill ?? "")!
        .slice(1)
        .map(Number);
      assert.ok(r! > 200 && g! < 200, `a red fill: ${fill}`);
      // No checkpointing: the checkpoint columns say "–", not a 0 ms that was never measured.
      await page.locator('g.vertex[data-vertex-name="slow sink"]').click();
      const delay = page.locator('[data-testid="subtasks"] [data-testid="start-delay"]').first();
      await delay.waitFor({ timeout: WAIT });
      assert.equal(await delay.textContent(), "–");
      assert.equal(
        await page.locator('[data-testid="subtasks"] [data-testid="last-alignment"]').first().textContent(),
        "–",
      );
      await shot(page, "job-backpressured.png");
    } finally {
      await page.close();
      await slow.cancel();
    }
  });

  it("shows the watermark doctor's diagnosis: a split without data holds the windows back", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const t0 = Date.UTC(2026, 0, 1);
    env
      .fromSource(
        new ScriptedSplitSource([
          { id: "p0", subtask: 0, rate: 500, start: t0, step: 10 },
          { id: "p1", subtask: 1, rate: 0, start: t0, step: 10 },
        ]),
        WatermarkStrategy.forMonotonousTimestamps<ScriptedRecord>().withTimestampAssigner((r) => r.t),
        "Events",
      )
      .setParallelism(2)
      .keyBy((r) => r.split)
      .window(TumblingEventTimeWindows.of(1000))
      .reduce((a, b) => (a.t > b.t ? a : b))
      .name("Windows")
      .sinkTo({ createWriter: () => ({ write() {} }) }, "Out");
    const stuck = await env.executeAsync("dashboard-stuck-windows");
    jobs.push(stuck.metrics);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${server.url}/#/jobs/${stuck.jobId}`);
      // The window's subtask, held back by the split without data, and the cause named.
      const row = page.locator('[data-testid="watermark-doctor"] tbody tr', { hasText: "Windows" });
      await row.filter({ hasText: "no-data-no-idleness" }).first().waitFor({ timeout: WAIT });
      assert.match((await row.first().textContent()) ?? "", /split 'p1'/);
      await shot(page, "job-watermark-doctor.png");
    } finally {
      await page.close();
      await stuck.cancel();
    }
  });

  it("shows a failed job's last state and its exception", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${server.url}/#/jobs/${failed.jobId}`);
      await page.locator('.job-page[data-state="FAILED"]').waitFor({ timeout: WAIT });
      await waitForCount(page, "svg.job-graph g.vertex", failed.metrics.vertices.length);
      const exceptions = page.locator('[data-testid="exceptions"]');
      await exceptions.locator("details").first().waitFor({ timeout: WAIT });
      assert.match((await exceptions.textContent()) ?? "", /two is not allowed here/);
      await shot(page, "job-failed.png");
    } finally {
      await page.close();
    }
  });

  it("weir run --rest-port serves it: the worker threads' job, cancelled from the page", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/counting-job.ts`, "--rest-port", "0"]);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("dialog", (d) => void d.accept());
    try {
      await run.until((err) => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(err), "stderr");
      const url = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      await page.goto(`${url}/`);
      await page.locator("table.jobs a", { hasText: "counting-job" }).click();
      await page.locator('g.vertex[data-vertex-name="Progress"]').waitFor({ timeout: WAIT });
      // Worker threads report every second: the source's count reaches the page.
      const count = page.locator('g.vertex[data-vertex-name^="Events"] [data-testid="vertex-records-out"]');
      await page.waitForFunction((el) => Number(el?.textContent) > 0, await count.elementHandle(), {
        timeout: WAIT,
      });
      await page.locator('[data-testid="cancel"]').click();
      const exit = await run.exited;
      assert.equal(exit.code, 0, run.stderr());
      assert.match(run.stdout(), /^Job 'counting-job' cancelled after .* \(asked through the REST API\)$/m);
      // The server went with the run: the page keeps the job's last state and says so.
      await page.locator(".banner.warn").waitFor({ timeout: WAIT });
      assert.equal((await page.locator("svg.job-graph g.vertex").count()) > 0, true);
      assert.equal(
        await page.locator('[data-testid="cancel"]').isDisabled(),
        true,
        "no buttons without a server",
      );
      await shot(page, "weir-run-after-exit.png");
    } finally {
      await page.close();
      run.child.kill("SIGKILL");
    }
  });

  it("with a token: asks for it, takes ?token= once, and keeps it out of the address bar", async () => {
    const guarded = await startRestServer({ port: 0, jobs: () => jobs, token: "s3cret-dashboard" });
    const page = await browser.newPage();
    try {
      await page.goto(`${guarded.url}/`);
      await page.locator("form.token-form").waitFor({ timeout: WAIT });
      await page.goto(`${guarded.url}/?token=s3cret-dashboard#/`);
      await page.locator(`tr[data-jid="${failed.jobId}"]`).waitFor({ timeout: WAIT });
      assert.doesNotMatch(page.url(), /token/);
      // Kept for the session: a reload without it still signs in.
      await page.reload();
      await page.locator(`tr[data-jid="${failed.jobId}"]`).waitFor({ timeout: WAIT });
    } finally {
      await page.close();
      await guarded.close();
    }
  });

  it("shows a cluster's TaskManagers: the list, one's slots and memory, its log and stdout", async () => {
    const dir = mkdtempSync(join(scratch, "cluster-"));
    const quiet = () => {};
    const jm = new JobManager({ port: 0, token: "", artifactDir: join(dir, "jm"), log: quiet });
    await jm.start();
    const tm = new TaskManager({
      jobManagerHost: "127.0.0.1",
      jobManagerPort: jm.port,
      slots: 2,
      token: "",
      id: "tm-dash",
      artifactDir: join(dir, "tm"),
      log: quiet,
    });
    const rest = await startJobManagerRest(jm, { port: 0, address: "127.0.0.1", token: "" });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tm.start();
      await page.goto(`${rest.url}/#/taskmanagers`);
      await page.locator('tr[data-tm="tm-dash"] a').click({ timeout: WAIT });
      await page.waitForFunction(
        `document.querySelector(".tm-slots")?.textContent === "2 (2 free)"`,
        undefined,
        { timeout: WAIT },
      );
      await page.waitForFunction(
        `/registered with the JobManager/.test(document.querySelector("pre.tm-logs")?.textContent ?? "")`,
        undefined,
        { timeout: WAIT },
      );
      assert.equal(await page.locator("pre.tm-stdout").textContent({ timeout: WAIT }), "(empty)");
      await shot(page, "taskmanager.png");
      // The REST server of one process has none, and says so.
      await page.goto(`${server.url}/#/taskmanagers`);
      await page.getByText("it has no TaskManagers").waitFor({ timeout: WAIT });
    } finally {
      await page.close();
      await rest.close();
      await tm.stop();
      await jm.stop();
    }
  });
});

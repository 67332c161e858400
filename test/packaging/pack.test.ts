// The package as a user gets it: `npm pack` of this checkout into a temporary directory, the
// tarball installed into a fresh `npm init -y` project (CommonJS, as npm leaves it), then what
// README.md's "Use Weir in your own project" has a user do, with the README's own files: run the
// TypeScript job with `npx weir run`; type-check with tsc (the README's tsconfig, and `tsc --init`'s
// defaults with strict on a file importing the package and its PostgreSQL connector); run the
// unit test with `node --test` on Node 22 and 24, whose type stripping refuses .ts files under
// node_modules (so the package must ship JavaScript).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const versionOf = (dep: string): string =>
  (JSON.parse(readFileSync(join(ROOT, "node_modules", dep, "package.json"), "utf8")) as { version: string })
    .version;

const scratch = mkdtempSync(join(tmpdir(), "weir-pack-"));
const app = join(scratch, "app");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a command run as the user would run it: without the npm_* variables of the
 * `npm test` around us (npm_config_local_prefix and friends would point npm at this repository).
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && !["INIT_CWD", "NODE_OPTIONS", "NODE_TEST_CONTEXT"].includes(k)) env[k] = v;
  }
  // The Node running this test comes first, so that npm, npx and bins run on it.
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ""}`;
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeout = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: userEnv(), timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string): Promise<Run> {
  const r = await run(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The README's code block whose first line is the comment `// <file>`. */
function readmeFile(file: string): string {
  const name = file.replaceAll(".", "\\.");
  const block = new RegExp(`\`\`\`(?:ts|jsonc?)\\n(// ${name}\\n[\\s\\S]*?)\`\`\``).exec(README);
  assert.ok(block !== null, `README.md shows ${file} (a code block starting with '// ${file}')`);
  return block[1]!;
}

/**
 * A Node binary of the given major version: this one if it is that version, else the registry's
 * `node-<platform>-<arch>@<major>` package (CI installs it and names it in WEIR_NODE_<major>;
 * otherwise it is installed here, once, into the temporary directory's cache).
 */
async function nodeBinary(major: number): Promise<string> {
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  const fromEnv = process.env[`WEIR_NODE_${major}`];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const pkg = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const prefix = join(tmpdir(), `weir-test-node-${major}`);
  const bin = join(prefix, "node_modules", pkg, "bin", "node");
  if (!existsSync(bin)) {
    await ok(
      "npm",
      ["install", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", `${pkg}@${major}`],
      tmpdir(),
    );
  }
  return bin;
}

describe("the packed package in a fresh project", { concurrency: false }, () => {
  let tarball = "";
  let files: string[] = [];

  before(async () => {
    // `npm pack` runs `prepare`, which builds dist/ from the sources.
    const packed = await ok("npm", ["pack", "--json", "--pack-destination", scratch], ROOT);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(scratch, info[0]!.filename);
    files = info[0]!.files.map((f) => f.path);
    mkdirSync(app);
    await ok("npm", ["init", "-y"], app);
    await ok(
      "npm",
      [
        "install",
        tarball,
        `typescript@${versionOf("typescript")}`,
        `@types/node@${versionOf("@types/node")}`,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
      ],
      app,
    );
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("holds compiled JavaScript, declarations and source maps, and no tests, benches or configs", () => {
    assert.match(tarball, new RegExp(`${PKG.name}-${PKG.version}\\.tgz$`));
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "bin/weir.mjs",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/dashboard/index.html",
    ]) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    for (const entry of [
      "index",
      "cluster/index",
      "connectors/postgres/index",
      "cli/main",
      "cluster/task-worker",
    ]) {
      for (const ext of [".js", ".d.ts", ".js.map"]) {
        assert.ok(files.includes(`dist/${entry}${ext}`), `dist/${entry}${ext} is in the package`);
      }
    }
    const stray = files.filter(
      (f) => !f.startsWith("dist/") && !["package.json", "README.md", "LICENSE", "bin/weir.mjs"].includes(f),
    );
    assert.deepEqual(stray, [], "only dist/, the bin, package.json, the README and the LICENSE");
    assert.deepEqual(
      files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts")),
      [],
      "no TypeScript sources",
    );
  });

  it("exports every entry point the package.json names", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      exports: Record<string, string | { types: string; default: string }>;
    };
    for (const [entry, target] of Object.entries(pkg.exports)) {
      const paths = typeof target === "string" ? [target] : [target.types, target.default];
      for (const p of paths) assert.ok(files.includes(p.replace(/^\.\//, "")), `${entry}: ${p} is packed`);
    }
  });

  it("npx weir run job.ts runs the README's ESM TypeScript job in a CommonJS project", async () => {
    const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as { type?: string };
    assert.notEqual(pkg.type, "module", "npm init -y leaves the project CommonJS");
    writeFileSync(join(app, "job.ts"), readmeFile("job.ts"));
    const r = await ok("npx", ["weir", "run", "job.ts", "-p", "2"], app);
    assert.match(r.stdout, /^(\d+> )?\{"word":"to","count":2\}$/m);
    assert.match(r.stdout, /^(\d+> )?\{"word":"be","count":2\}$/m);
    assert.equal(r.stdout.match(/"count":/g)?.length, 2, r.stdout);
    assert.match(r.stdout, /^Job 'first-job' finished in /m);
  });

  it("loads in plain Node, no loader: the library, its connector and its test harness", async () => {
    const script = `
      const weir = await import("${PKG.name}");
      const pg = await import("${PKG.name}/connectors/postgres");
      const testing = await import("${PKG.name}/testing");
      console.log(typeof weir.defineJob, typeof pg.PostgresUpsertSink, typeof testing.KeyedOneInputHarness);`;
    const r = await ok(process.execPath, ["--input-type=module", "-e", script], app);
    assert.equal(r.stdout.trim(), "function function function");
    // CommonJS code too (require of an ES module without top-level await: Node 20.19+, 22.12+).
    const cjs = `console.log(typeof require("${PKG.name}").defineJob)`;
    assert.equal(
      (await ok(process.execPath, ["--input-type=commonjs", "-e", cjs], app)).stdout.trim(),
      "function",
    );
  });

  it("type-checks with the README's tsconfig, and with tsc --init's defaults plus strict", async () => {
    // As the README says: "type": "module", so that tsc and Node treat the project's .ts files as ESM.
    await ok("npm", ["pkg", "set", "type=module"], app);
    writeFileSync(join(app, "tsconfig.json"), readmeFile("tsconfig.json"));
    writeFileSync(join(app, "job.test.ts"), readmeFile("job.test.ts"));
    const check = join(app, "typecheck");
    mkdirSync(check);
    await ok("npx", ["tsc", "--init", "--strict"], check);
    writeFileSync(
      join(check, "check.ts"),
      [
        `import { type DataStream, StreamExecutionEnvironment, defineJob } from "${PKG.name}";`,
        `import { PostgresUpsertSink, type PostgresUpsertSinkOptions } from "${PKG.name}/connectors/postgres";`,
        `export const job = defineJob((env: StreamExecutionEnvironment) => {`,
        `  const n: DataStream<number> = env.fromElements(1, 2, 3).map((x) => x * 2);`,
        `  n.print();`,
        `});`,
        `export type Options = PostgresUpsertSinkOptions<{ id: number }>;`,
        `export const sink: typeof PostgresUpsertSink = PostgresUpsertSink;`,
        // pg's own types reach the user (without them, the connection options would be 'any').
        `export const connection: Options["connection"] = { host: "localhost", port: 5432 };`,
        `// @ts-expect-error port is a number in pg's ClientConfig`,
        `export const wrong: Options["connection"] = { host: "localhost", port: "5432" };`,
        "",
      ].join("\n"),
    );
    // The second with skipLibCheck off: the package's declarations hold under the user's strict
    // flags (tsc --init turns on exactOptionalPropertyTypes and noUncheckedIndexedAccess).
    await Promise.all([
      ok("npx", ["tsc", "--noEmit", "-p", "."], app),
      ok("npx", ["tsc", "--noEmit", "-p", ".", "--skipLibCheck", "false"], check),
    ]);
  });

  it("serves the web dashboard from the installed package", async () => {
    const installed = join(app, "node_modules", PKG.name, "dist", "web", "rest-server.js");
    const { startRestServer } = (await import(
      pathToFileURL(installed).href
    )) as typeof import("../../src/web/rest-server.ts");
    const server = await startRestServer({ port: 0, jobs: () => [] });
    try {
      const index = await fetch(`${server.url}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
      assert.ok(script !== undefined, "index.html names its script");
      const js = await fetch(`${server.url}/${script}`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
      assert.ok((await js.text()).length > 10_000, "the bundle is there");
    } finally {
      await server.close();
    }
  });

  for (const major of [22, 24]) {
    it(`node --test runs the README's .ts unit test on Node ${major} (type stripping)`, async () => {
      assert.ok(existsSync(join(app, "job.test.ts")), "the type-check step wrote the test");
      const node = await nodeBinary(major);
      const r = await ok(node, ["--test", "--test-reporter=tap", "job.test.ts"], app);
      assert.match(r.stdout, /^# pass [1-9]/m);
      assert.match(r.stdout, /^# fail 0$/m);
    });
  }
});

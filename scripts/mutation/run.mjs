// Mutation testing for Weir's critical modules (`npm run test:mutation [-- <paths>] [options]`).
// Generates mutants of src/core, src/network, src/runtime, src/state, src/checkpoint; runs, for each,
// only the deterministic test files whose coverage reaches the mutated code (those importing the
// file first, then fastest first), stopping at the first failure; caches results under .mutation-cache/ so a re-run only tests
// what changed. All mutation happens in sandbox copies of the tree. See TESTING.md.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { coverTestFile, executed } from "./coverage.mjs";
import { applyMutant, generateMutants, short } from "./mutants.mjs";
import { report } from "./report.mjs";
import { createSandbox, removeSandboxes, treeFiles } from "./sandbox.mjs";
import { killAll, runTestFile } from "./test-process.mjs";

const MODULES = ["src/checkpoint", "src/state", "src/runtime", "src/network", "src/core"];
/** Randomized or timing-driven tests: their verdict is not a function of the code alone. */
const NON_DETERMINISTIC = [/^test\/checkpoint\/chaos.*\.test\.ts$/, /^test\/async\/async-chaos\.test\.ts$/];
/** Seeds of seeded-random tests fixed, so their verdict is the same for every mutant. */
const FIXED_ENV = { GOLDEN_SEED: process.env.GOLDEN_SEED ?? "1" };
const USAGE = `usage: npm run test:mutation -- [paths...] [--workers=N] [--max-tests=N] [--budget-minutes=M] [--fresh] [--list]
  paths             source files or folders to mutate (default: ${MODULES.join(" ")})
  --workers=N       mutants tested in parallel, one sandbox each (default 1)
  --max-tests=N     at most N covering test files per mutant (default: all)
  --tests=A,B       only test files whose path contains A or B (coverage is collected for those only;
                    a lower bound, cheaper on a shared machine; default: every deterministic file)
  --budget-minutes  stop starting new mutants after M minutes; the rest are reported "not run"
  --sample=P        only the P percent of mutants picked by a hash of their file and id (an estimate)
  --sample-salt=S   pick another sample of the same size (a fresh estimate after tests were
                    written for the survivors of the first)
  --lines=A-B       only the mutants on lines A to B (of every file named; e.g. a run stopped by its budget)
  --fresh           ignore cached results (coverage and mutants)
  --list            only list the mutants`;

const root = process.cwd();
const cacheDir = join(root, ".mutation-cache");
const args = parseArgs(process.argv.slice(2));
let cachedCoverage = {};

function parseArgs(argv) {
  const a = { paths: [], workers: 1, maxTests: Number.POSITIVE_INFINITY, budgetMs: Number.POSITIVE_INFINITY };
  for (const arg of argv) {
    const [k, v] = arg.split("=");
    if (k === "--workers") a.workers = Math.max(1, Math.min(Number(v), availableParallelism()));
    else if (k === "--max-tests") a.maxTests = Number(v);
    else if (k === "--budget-minutes") a.budgetMs = Number(v) * 60_000;
    else if (k === "--sample") a.sample = Number(v);
    else if (k === "--sample-salt") a.sampleSalt = v;
    else if (k === "--lines") {
      const [from, to = from] = v.split("-").map(Number);
      if (!Number.isInteger(from) || !Number.isInteger(to)) {
        console.error(`--lines takes A-B (line numbers), not ${v}\n${USAGE}`);
        process.exit(2);
      }
      a.lines = { from, to };
    } else if (k === "--tests") a.tests = v.split(",").filter((t) => t.length > 0);
    else if (k === "--fresh") a.fresh = true;
    else if (k === "--list") a.list = true;
    else if (k === "--help" || k === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (k.startsWith("--")) {
      console.error(`unknown option ${k}\n${USAGE}`);
      process.exit(2);
    } else a.paths.push(k.replace(/\/$/, ""));
  }
  return a;
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const p = `${dir}/${name}`;
    if (statSync(join(root, p)).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Source files to mutate, in the order asked for (critical modules first by default). */
function targetFiles() {
  const inScope = (f) => MODULES.some((m) => f.startsWith(`${m}/`));
  const wanted = args.paths.length === 0 ? MODULES : args.paths.map((p) => relative(root, join(root, p)));
  const files = [];
  for (const p of wanted) {
    if (!existsSync(join(root, p)))
      throw new Error(`mutation: ${p} does not exist; give a file or folder under src/`);
    for (const f of statSync(join(root, p)).isDirectory() ? walk(p) : [p]) {
      if (!inScope(f)) console.warn(`mutation: ${f} is outside ${MODULES.join(", ")}; mutating it anyway`);
      if (!files.includes(f)) files.push(f);
    }
  }
  return files;
}

const hashes = new Map();
function fileHash(rel) {
  let h = hashes.get(rel);
  if (h === undefined) {
    h = existsSync(join(root, rel)) ? sha(readFileSync(join(root, rel))) : "missing";
    hashes.set(rel, h);
  }
  return h;
}

function sha(...parts) {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 24);
}

function loadCache(name) {
  const p = join(cacheDir, name);
  if (args.fresh || !existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch {
    return {};
  }
}

function saveCache(name, value) {
  mkdirSync(cacheDir, { recursive: true });
  const p = join(cacheDir, name);
  writeFileSync(`${p}.tmp`, JSON.stringify(value));
  renameSync(`${p}.tmp`, p);
}

/** Runs every deterministic test file once with coverage (cached per test file and what it loaded). */
async function collectCoverage(sandbox, tests) {
  const cache = loadCache("coverage.json");
  const fresh = (e) => e?.loaded.every((f) => e.hashes[f] === fileHash(f));
  const todo = tests.filter((t) => !fresh(cache[t]));
  if (todo.length > 0) console.log(`coverage: running ${todo.length} of ${tests.length} test files once`);
  await pool(todo, args.workers, async (t, i) => {
    const r = await coverTestFile(sandbox, t, 300_000, FIXED_ENV);
    const loaded = r.loaded.includes(t) ? r.loaded : [...r.loaded, t];
    cache[t] = {
      passed: r.passed,
      durationMs: r.durationMs,
      loaded,
      hashes: Object.fromEntries(loaded.map((f) => [f, fileHash(f)])),
      coverage: r.coverage,
    };
    console.log(
      `coverage [${i + 1}/${todo.length}] ${t}: ${r.passed ? "pass" : "FAIL (left out)"} ${(r.durationMs / 1000).toFixed(1)}s`,
    );
    if (!r.passed) console.log(r.output.split("\n").slice(-15).join("\n"));
    saveCache("coverage.json", cache);
  });
  for (const t of Object.keys(cache)) if (!tests.includes(t)) delete cache[t];
  return cache;
}

async function pool(items, n, fn) {
  let next = 0;
  const worker = async (w) => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i, w);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, (_, w) => worker(w)));
}

/** The test-side files (test/, fixtures) a test file loaded: their hash keys a mutant's result. */
function testSideHash(entry) {
  return sha(...entry.loaded.filter((f) => !f.startsWith("src/")).map((f) => `${f}:${fileHash(f)}`));
}

async function main() {
  const targets = targetFiles();
  const mutants = targets.flatMap((file) =>
    generateMutants(file, readFileSync(join(root, file), "utf8")).map((m) => ({ file, mutant: m })),
  );
  if (args.lines !== undefined) {
    const { from, to } = args.lines;
    const keep = mutants.filter(({ mutant }) => mutant.line >= from && mutant.line <= to);
    console.log(`mutation: lines ${from}-${to}: ${keep.length} of ${mutants.length} mutants`);
    mutants.splice(0, mutants.length, ...keep);
  }
  if (args.sample !== undefined) {
    const all = mutants.length;
    const keep = mutants.filter(
      ({ file, mutant }) =>
        Number.parseInt((args.sampleSalt ? sha(args.sampleSalt, file, mutant.id) : sha(file, mutant.id)).slice(0, 8), 16) %
          100 <
        args.sample,
    );
    mutants.splice(0, mutants.length, ...keep);
    const salt = args.sampleSalt ? ` (salt ${args.sampleSalt})` : "";
    console.log(`mutation: a ${args.sample}% sample${salt}: ${keep.length} of ${all} mutants`);
  }
  console.log(`mutation: ${mutants.length} mutants in ${targets.length} files`);
  if (args.list) {
    for (const { file, mutant: m } of mutants) console.log(`${file}:${m.line}:${m.col} ${m.id}`);
    return;
  }
  const files = treeFiles(root);
  const sandboxes = Array.from({ length: args.workers }, () => createSandbox(root, files));
  const tests = files
    .filter((f) => f.startsWith("test/") && f.endsWith(".test.ts"))
    .filter((f) => !NON_DETERMINISTIC.some((re) => re.test(f)))
    .filter((f) => args.tests === undefined || args.tests.some((t) => f.includes(t)))
    .sort();
  const coverage = await collectCoverage(sandboxes[0], tests);
  cachedCoverage = coverage;
  const passing = tests
    .filter((t) => coverage[t]?.passed)
    .sort((a, b) => coverage[a].durationMs - coverage[b].durationMs);
  const equivalent = existsSync(new URL("./equivalent.json", import.meta.url))
    ? JSON.parse(readFileSync(new URL("./equivalent.json", import.meta.url), "utf8"))
    : {};
  const results = loadCache("results.json");
  const pairs = results.pairs ?? {};
  results.pairs = pairs;
  const out = [];
  const started = Date.now();
  let done = 0;
  await pool(mutants, args.workers, async ({ file, mutant: m }, _i, w) => {
    const reason = equivalent[file]?.[m.id];
    const covering = byRelevance(
      passing.filter((t) => executed(coverage[t].coverage[file], m.at)),
      file,
    );
    const selected = covering.slice(0, args.maxTests);
    const key = sha(fileHash(file), m.id, ...selected.map((t) => `${t}:${testSideHash(coverage[t])}`));
    const pairKey = (t) => sha(fileHash(file), m.id, t, testSideHash(coverage[t]));
    let r;
    if (reason !== undefined) r = { status: "equivalent", reason };
    else if (covering.length === 0) r = { status: "no-coverage" };
    else if (results[key]) {
      r = results[key];
      rememberPairs(pairs, pairKey, selected, r);
    } else if ((r = fromPairs(pairs, pairKey, selected)) !== undefined) {
      results[key] = r;
      saveCache("results.json", results);
    } else if (Date.now() - started > args.budgetMs) r = { status: "not-run" };
    else {
      r = await testMutant(sandboxes[w], file, m, selected, coverage, (t) => pairs[pairKey(t)]);
      results[key] = r;
      rememberPairs(pairs, pairKey, selected, r);
      saveCache("results.json", results);
    }
    out.push({ file, mutant: m, ...r, covering: covering.length });
    done++;
    if (r.status !== "not-run") {
      const by = r.killedBy ? ` by ${r.killedBy}` : r.ran !== undefined ? ` (${r.ran} test files)` : "";
      console.log(
        `[${done}/${mutants.length}] ${file}:${m.line} ${m.mutator} ${short(m.original)} → ${m.replacement}: ${r.status}${by}`,
      );
    }
  });
  const order = new Map(mutants.map((x, i) => [x.mutant, i]));
  out.sort((a, b) => order.get(a.mutant) - order.get(b.mutant));
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const header = `Mutation run ${when} UTC: ${mutants.length} mutants, ${passing.length} deterministic test files (${args.maxTests === Number.POSITIVE_INFINITY ? "all covering tests" : `at most ${args.maxTests} per mutant`}${args.tests ? `; only test files matching ${args.tests.join(", ")}` : ""})`;
  report(out, join(cacheDir, "report"), header);
}

const mentions = new Map();
/** Whether the test file or a test-side file it loaded names `file` (imports it): the likeliest killers. */
function mentionsFile(test, file) {
  const key = `${test}\0${file}`;
  let r = mentions.get(key);
  if (r === undefined) {
    const stem = `/${file.split("/").pop().replace(/\.ts$/, "")}`;
    const sources = [test, ...cachedCoverage[test].loaded.filter((f) => f.startsWith("test/"))];
    r = sources.some((f) => existsSync(join(root, f)) && readFileSync(join(root, f), "utf8").includes(stem));
    mentions.set(key, r);
  }
  return r;
}

/** Covering tests, those that import the mutated file first, then fastest first. */
function byRelevance(tests, file) {
  const direct = tests.filter((t) => mentionsFile(t, file));
  return [...direct, ...tests.filter((t) => !direct.includes(t))];
}

/**
 * What one (mutant, test file) pair gave, kept apart from the full result: a test file kills a
 * mutant, or lets it survive, whatever the other selected tests are, so adding a test file only
 * runs that file on the mutants it covers. Keyed like a result: mutated file, mutant, test-side hash.
 */
function rememberPairs(pairs, pairKey, selected, r) {
  if (r.status === "killed" || r.status === "timeout") pairs[pairKey(r.killedBy)] = r.status;
  else if (r.status === "survived") for (const t of selected.slice(0, r.ran)) pairs[pairKey(t)] = "survived";
}

/** The result, from the pairs alone: killed when any selected test file killed it, survived when all let it. */
function fromPairs(pairs, pairKey, selected) {
  for (const t of selected) {
    const p = pairs[pairKey(t)];
    if (p === "killed" || p === "timeout") return { status: p, killedBy: t };
  }
  if (selected.every((t) => pairs[pairKey(t)] === "survived")) return { status: "survived", ran: selected.length };
  return undefined;
}

/** Writes the mutant into the sandbox, runs the selected tests in order until one fails (skipping those known to let it survive). */
async function testMutant(sandbox, file, m, tests, coverage, known = () => undefined) {
  const path = join(sandbox, file);
  const original = readFileSync(path, "utf8");
  writeFileSync(path, applyMutant(original, m));
  try {
    let ran = 0;
    for (const t of tests) {
      if (known(t) === "survived") {
        ran++;
        continue;
      }
      const timeout = Math.min(300_000, Math.max(20_000, 3 * coverage[t].durationMs + 10_000));
      const r = await runTestFile(sandbox, t, timeout, FIXED_ENV);
      ran++;
      if (r.timedOut) return { status: "timeout", killedBy: t };
      if (!r.passed) return { status: "killed", killedBy: t };
    }
    return { status: "survived", ran };
  } finally {
    writeFileSync(path, original);
  }
}

function cleanup() {
  killAll();
  removeSandboxes();
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

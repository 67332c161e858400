// The mutation report: counts and score per module and per file, surviving mutants with their
// place, and the mutants a person judged equivalent (scripts/mutation/equivalent.json).
import { writeFileSync } from "node:fs";
import { short } from "./mutants.mjs";

const KILLED = new Set(["killed", "timeout"]);

function emptyCounts() {
  return { total: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, equivalent: 0, notRun: 0 };
}

function count(c, status) {
  c.total++;
  if (status === "killed") c.killed++;
  else if (status === "timeout") c.timeout++;
  else if (status === "survived") c.survived++;
  else if (status === "no-coverage") c.noCoverage++;
  else if (status === "equivalent") c.equivalent++;
  else c.notRun++;
}

/** Killed (incl. timeouts) over the mutants that ran or had no test, equivalents left out. */
export function score(c) {
  const judged = c.killed + c.timeout + c.survived + c.noCoverage;
  return judged === 0 ? null : (100 * (c.killed + c.timeout)) / judged;
}

function row(name, c) {
  const s = score(c);
  return `| ${name} | ${s === null ? "-" : `${s.toFixed(1)}%`} | ${c.total - c.notRun} / ${c.total} | ${c.killed} | ${c.timeout} | ${c.survived} | ${c.noCoverage} | ${c.equivalent} |`;
}

/**
 * `results`: [{ file, mutant, status, killedBy?, ran? }]. Prints a markdown report, writes it and
 * the raw results to `outPrefix`.md/.json, and returns the per-module counts.
 */
export function report(results, outPrefix, header) {
  const modules = new Map();
  const files = new Map();
  for (const r of results) {
    const mod = r.file.split("/").slice(0, 2).join("/");
    if (!modules.has(mod)) modules.set(mod, emptyCounts());
    if (!files.has(r.file)) files.set(r.file, emptyCounts());
    count(modules.get(mod), r.status);
    count(files.get(r.file), r.status);
  }
  const all = emptyCounts();
  for (const r of results) count(all, r.status);
  const head =
    "| | score | run / mutants | killed | timeout | survived | no coverage | equivalent |\n|---|---|---|---|---|---|---|---|";
  const lines = [header, "", "Per module:", "", head];
  for (const [m, c] of modules) lines.push(row(m, c));
  lines.push(row("**all**", all), "", "Per file:", "", head);
  for (const [f, c] of files) lines.push(row(f, c));
  lines.push("", "Surviving mutants (file:line mutation — enclosing function):", "");
  for (const r of results) {
    if (r.status !== "survived" && r.status !== "no-coverage") continue;
    const m = r.mutant;
    const fn = m.id.split("|")[0];
    const what = `\`${short(m.original)}\` → \`${short(m.replacement)}\``;
    lines.push(
      `- ${r.file}:${m.line} ${m.mutator} ${what} — ${fn}${r.status === "no-coverage" ? " (no test runs it)" : ""}`,
    );
  }
  const text = lines.join("\n");
  console.log(`\n${text}`);
  writeFileSync(`${outPrefix}.md`, `${text}\n`);
  writeFileSync(
    `${outPrefix}.json`,
    JSON.stringify(
      results.map((r) => ({
        file: r.file,
        line: r.mutant.line,
        id: r.mutant.id,
        status: r.status,
        killedBy: r.killedBy,
      })),
      null,
      1,
    ),
  );
  return { modules, all, killed: KILLED };
}

// Coverage per test file: runs one test file with NODE_V8_COVERAGE (V8 block coverage, in every
// process and worker it starts), maps the ranges back to TypeScript offsets through the source
// maps tsx registers, and answers "did this test execute the code at this offset of that file?".
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "./sandbox.mjs";
import { runTestFile } from "./test-process.mjs";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Source map "mappings" (of one source) → per generated line, sorted segments [genCol, origLine, origCol]. */
function decodeMappings(mappings) {
  const lines = [];
  let srcLine = 0;
  let srcCol = 0;
  for (const lineText of mappings.split(";")) {
    const segs = [];
    let genCol = 0;
    if (lineText.length > 0) {
      for (const seg of lineText.split(",")) {
        const v = [];
        let shift = 0;
        let value = 0;
        for (const ch of seg) {
          const d = B64_INDEX.get(ch);
          value += (d & 31) << shift;
          if (d & 32) shift += 5;
          else {
            v.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        genCol += v[0];
        if (v.length >= 4) {
          srcLine += v[2];
          srcCol += v[3];
          segs.push([genCol, srcLine, srcCol]);
        }
      }
    }
    lines.push(segs);
  }
  return lines;
}

function lineStarts(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/**
 * Maps a generated range [start, end) to the original range that holds every mapped position in
 * it (a hull: esbuild moves code around, e.g. the `__name(fn)` calls tsx adds after a function map
 * back to the function's name, so the segments at a range's two ends alone can mislead).
 */
function makeMapper(entry, originalText) {
  const segLines = decodeMappings(entry.data.mappings);
  const origStarts = lineStarts(originalText);
  const gen = [];
  const orig = [];
  let lineStart = 0;
  entry.lineLengths.forEach((len, line) => {
    for (const [genCol, oLine, oCol] of segLines[line] ?? []) {
      gen.push(lineStart + genCol);
      orig.push((origStarts[oLine] ?? originalText.length) + oCol);
    }
    lineStart += len + 1;
  });
  return (start, end) => {
    // the first position mapped inside the range, else the last one before it
    let i = upperBound(gen, start - 1);
    if (i >= gen.length || gen[i] >= end) i = Math.max(0, i - 1);
    let lo = Number.POSITIVE_INFINITY;
    let hi = -1;
    for (const first = i; i < gen.length && (i === first || gen[i] < end); i++) {
      if (orig[i] === 0) continue; // helpers esbuild adds (class fields, __name) map to 0:0
      if (orig[i] < lo) lo = orig[i];
      if (orig[i] > hi) hi = orig[i];
    }
    return hi < 0 ? [0, 1] : [lo, hi + 1];
  };
}

function upperBound(arr, x) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Reads the coverage JSON files V8 wrote into `dir` and returns, per repo-relative path under
 * src/, ranges `[origStart, origEnd, generatedLength, executed]` (executed: 1 or 0), and the
 * repo-relative paths of every .ts file the run loaded.
 */
export function readCoverage(dir, root) {
  const rootUrl = `${pathToFileURL(root).href}/`;
  const maps = new Map();
  const results = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    let data;
    try {
      data = JSON.parse(readFileSync(join(dir, name), "utf8"));
    } catch {
      continue; // a process killed mid-write
    }
    for (const [url, entry] of Object.entries(data["source-map-cache"] ?? {})) maps.set(url, entry);
    results.push(...data.result);
  }
  const out = {};
  const loaded = new Set();
  const mappers = new Map();
  for (const script of results) {
    if (script.url.startsWith(rootUrl) && script.url.endsWith(".ts"))
      loaded.add(script.url.slice(rootUrl.length));
    if (!script.url.startsWith(`${rootUrl}src/`) || !script.url.endsWith(".ts")) continue;
    const rel = script.url.slice(rootUrl.length);
    let mapper = mappers.get(script.url);
    if (mapper === undefined) {
      const entry = maps.get(script.url);
      if (!entry) continue;
      mapper = makeMapper(
        entry,
        entry.data.sourcesContent?.[0] ?? readFileSync(fileURLToPath(script.url), "utf8"),
      );
      mappers.set(script.url, mapper);
    }
    const ranges = (out[rel] ??= []);
    for (const fn of script.functions) {
      for (const r of fn.ranges) {
        const [lo, hi] = mapper(r.startOffset, r.endOffset);
        ranges.push([lo, hi, r.endOffset - r.startOffset, r.count > 0 ? 1 : 0]);
      }
    }
  }
  return { coverage: out, loaded: [...loaded].sort() };
}

/**
 * Whether the code at `offset` ran, by the innermost range around it. Several processes may have
 * loaded the file: it ran if it ran in any of them (the innermost range of each says so).
 */
export function executed(ranges, offset) {
  if (!ranges) return false;
  let best = null;
  for (const r of ranges) {
    if (r[0] === 0 && !r[3]) continue; // nothing mapped (or, in old caches, a hull widened by 0:0)
    if (r[0] <= offset && offset < r[1] && (best === null || r[2] < best[2] || (r[2] === best[2] && r[3])))
      best = r;
  }
  if (best === null) return false;
  if (best[3]) return true;
  // another process may have run the same range: look for an executed range of the same extent
  return ranges.some((r) => r[3] && r[0] === best[0] && r[1] === best[1] && r[2] === best[2]);
}

/** Runs one test file with coverage in `root` and returns { passed, durationMs, coverage, loaded }. */
export async function coverTestFile(root, testFile, timeoutMs, env = {}) {
  const dir = tempDir("weir-mutation-cov-");
  try {
    const r = await runTestFile(root, testFile, timeoutMs, { ...env, NODE_V8_COVERAGE: dir });
    return { ...r, ...readCoverage(dir, root) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

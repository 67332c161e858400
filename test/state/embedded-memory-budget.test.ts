// The memory model at work: a keyed job whose state does not fit in a small V8 heap. Each case
// runs in a child process with --max-old-space-size=64: 400k distinct string keys, each seen
// twice, and per key a ValueState of a count and 100 characters. With the heap backend the state
// (~100 MB of JS objects) exceeds the
// heap and the child dies; with the embedded backend and 16 MiB of managed memory the job
// completes, every key counted exactly twice, and the store's cache stayed within its share.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import {
  type KeyedProcessFunction,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { Types } from "../../src/core/types/types.ts";

const KEYS = 400_000;
/** Characters of payload in each key's state (a profile, a session...). */
const PAD = 100;
const HEAP_MB = 64;

async function childBody(backend: "heap" | "embedded"): Promise<void> {
  const env = new StreamExecutionEnvironment({
    parallelism: 1,
    stateBackend: backend,
    managedMemory: "16mb",
  });
  const descriptor = new ValueStateDescriptor<string>("profile", Types.STRING);
  // Emits [key, count] on a key's second visit, for one key in 1000 (the check's sample).
  const counter: KeyedProcessFunction<string, number, [number, number]> = {
    processElement(i, ctx, out) {
      const state = ctx.runtime.getState(descriptor);
      const n = Number(state.value()?.split(":", 1)[0] ?? 0) + 1;
      state.update(`${n}:${"p".repeat(PAD)}`); // a string of its own per key
      if (n === 2 && i % 1000 === 0) out.collect([i, n]);
      if (n > 2) out.collect([i, n]); // never: each key comes twice
    },
  };
  const out = env
    .fromSequence(0, 2 * KEYS - 1)
    .map((i) => i % KEYS)
    .keyBy((k) => `user-${k}`)
    .process(counter)
    .collect();
  await env.execute(`budget-${backend}`);
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(JSON.stringify({ outputs: out.values, rssMb: rss }));
}

function runChild(backend: "heap" | "embedded") {
  return spawnSync(
    process.execPath,
    [`--max-old-space-size=${HEAP_MB}`, "--import", "tsx", fileURLToPath(import.meta.url)],
    {
      env: { ...process.env, WEIR_BUDGET_CHILD: backend },
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 16 * 2 ** 20,
    },
  );
}

const child = process.env.WEIR_BUDGET_CHILD;
if (child === "heap" || child === "embedded") await childBody(child);
else {
  describe(`a job with ${KEYS} keys of state under a ${HEAP_MB} MB heap (child processes)`, () => {
    it("embedded backend with 16 MiB managed memory: completes, every key counted exactly twice", () => {
      const r = runChild("embedded");
      assert.equal(r.status, 0, `child failed (signal ${r.signal}):\n${r.stderr.slice(-2000)}`);
      const { outputs, rssMb } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        outputs: Array<[number, number]>;
        rssMb: number;
      };
      // Node with tsx takes ~60 MB before any job (Node 24: ~100 MB); heap 64 MB at most, managed
      // memory 16 MiB, plus LMDB's mapped file pages. Node 24 ended a run at 253 MB.
      assert.ok(rssMb < 320, `RSS ${rssMb.toFixed(0)} MB at the end of the job`);
      const keys = outputs.map(([k]) => k).sort((a, b) => a - b);
      assert.deepEqual(
        keys,
        Array.from({ length: KEYS / 1000 }, (_, i) => i * 1000),
      );
      for (const [k, n] of outputs) assert.equal(n, 2, `key ${k}`);
    });

    it("heap backend: the same job runs out of heap", () => {
      const r = runChild("heap");
      assert.notEqual(r.status, 0, "the heap backend was expected to exceed the 64 MB heap");
      assert.ok(r.error === undefined, `the child did not end by itself: ${r.error?.message}`);
      assert.match(r.stderr, /heap out of memory|allocation failed/i);
    });
  });
}

// Job module of the cluster benchmarks (bench/cluster.ts), the same for the MiniCluster and for
// TaskManager processes. TaskManagers start before the benchmark knows its sizes, so settings come
// as job arguments (`--kind wordcount --lines N`), not environment variables:
// - wordcount: the word count of bench/jobs/wordcount.ts (keyed exchange, typed records);
// - exchange: generated {word, count} records from a source in one slot sharing group to a
//   counting sink in another, so that every record crosses the exchange between two slots (two
//   worker threads, or two TaskManagers);
// - recovery: numbers -> keyBy(i % keys) -> ValueState count -> a sink that checks every count
//   (record i must see count floor(i / keys) + 1) and, across processes, reports through files in
//   --dir: `seen-<subtask>` (records seen, every 4 Ki) and `restarted` (epoch ms of the first
//   record of a restarted attempt).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RestartStrategies, type RuntimeContext, type SinkWriter, defineJob } from "../../src/index.ts";
import { CountingSink } from "../lib/counting-sink.ts";
import { epochMs } from "../lib/timing.ts";
import { buildRecoveryCount } from "./recovery-count.ts";
import { LINES, type WordCount, WordCountType, buildWordCount } from "./wordcount.ts";

export const WRONG_COUNTS = "bench.wrong";
const WORDS = LINES.flatMap((l) => l.split(" "));

class RecoveryWriter implements SinkWriter<number> {
  private seen = 0;
  private restarted: boolean;
  constructor(
    private readonly runtime: RuntimeContext,
    private readonly dir: string,
  ) {
    this.restarted = runtime.attemptNumber > 0;
  }
  write(wrong: number): void {
    if (this.restarted) {
      this.restarted = false;
      try {
        writeFileSync(join(this.dir, "restarted"), String(epochMs()), { flag: "wx" });
      } catch {
        // The other subtask was first.
      }
    }
    if (wrong !== 0) this.runtime.getCounter(WRONG_COUNTS).add(1);
    if ((++this.seen & 0xfff) === 0) {
      writeFileSync(join(this.dir, `seen-${this.runtime.indexOfThisSubtask}`), String(this.seen));
    }
  }
}

export default defineJob("cluster-bench", (env, args) => {
  const kind = args.getRequired("kind");
  if (kind === "wordcount") {
    buildWordCount(env, { lines: args.getInt("lines"), typed: true });
  } else if (kind === "exchange") {
    env
      .fromGenerator((i): WordCount => ({ word: WORDS[i % WORDS.length]!, count: i & 7 }), {
        count: args.getInt("records"),
        type: WordCountType,
      })
      .name("Records")
      .setParallelism(1)
      .sinkTo(new CountingSink<WordCount>((r) => r.count), "Count")
      .setParallelism(1)
      .slotSharingGroup("sink");
  } else if (kind === "recovery") {
    const keys = args.getInt("keys");
    const dir = args.getRequired("dir");
    env.enableCheckpointing(1_000);
    env.getCheckpointConfig().setCheckpointStorage(join(dir, "checkpoints"));
    // No restart delay: the figure is the engine's own recovery time.
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 0));
    buildRecoveryCount(
      env,
      // Long enough that a checkpoint and the kill come while it runs.
      { keys, records: 4 * keys, recordsPerSecond: args.getInt("rate") },
      (runtime) => new RecoveryWriter(runtime, dir),
    );
  } else {
    throw new Error(`--kind must be wordcount, exchange or recovery, got '${kind}'`);
  }
});

// Word count, the "hello world" of stream processing: read a text file, split it into lower-case
// words, count every word (keyBy + sum), write the final count of each word to out/wordcount/
// and report the most frequent words.
//
//   node bin/weir.mjs run examples/wordcount.ts -p 2 --checkpoint-interval 200   (npm run demo)
//   node bin/weir.mjs run examples/wordcount.ts -- --input some/file.txt --output out/other
//   (or WEIR_INPUT / WEIR_OUTPUT in the environment)
//
// The rolling sum emits the running count of a word after each occurrence (as in Flink's
// streaming WordCount). "Final count" keeps each word's latest count in keyed state and emits it
// on an event-time timer at the end of time, which the end of the input reaches; the "Final
// counts" sink writes them all, most frequent first. Keeping the count in keyed state (not in
// the sink) is what lets a run stopped with a savepoint and restored write the same file.

import { fileURLToPath } from "node:url";
import {
  type Collector,
  type Counter,
  FileSink,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  ListAccumulator,
  type OnTimerContext,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
  type ValueState,
  ValueStateDescriptor,
  defineJob,
} from "weir-stream";

interface WordCount {
  word: string;
  count: number;
}

const DEFAULT_INPUT =
  process.env.WEIR_INPUT ?? fileURLToPath(new URL("./data/the-miller-of-the-weir.txt", import.meta.url));
const DEFAULT_OUTPUT = process.env.WEIR_OUTPUT ?? "out/wordcount";
const TOP = 10;
/** The end of time: the end of a bounded input brings the watermark past it. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/** Splits lines into words; counts lines and words in accumulators. */
class Tokenizer {
  private lines: Counter | undefined;
  private words: Counter | undefined;

  open(ctx: RuntimeContext): void {
    this.lines = ctx.getCounter("lines");
    this.words = ctx.getCounter("words");
  }

  flatMap(line: string, out: Collector<WordCount>): void {
    this.lines!.add();
    for (const word of line.toLowerCase().split(/[^\p{L}\p{N}']+/u)) {
      const w = word.replace(/^'+|'+$/g, "");
      if (w.length === 0) continue;
      this.words!.add();
      out.collect({ word: w, count: 1 });
    }
  }
}

/** Keyed by word: remembers the latest running count and emits it once, when the input has ended. */
class FinalCount implements KeyedProcessFunction<string, WordCount, WordCount> {
  private latest!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.latest = ctx.getState(new ValueStateDescriptor<number>("latest count"));
  }

  processElement(wc: WordCount, ctx: KeyedProcessContext<string>): void {
    if (this.latest.value() === undefined) ctx.timerService().registerEventTimeTimer(END_OF_TIME);
    this.latest.update(wc.count);
  }

  onTimer(_time: number, ctx: OnTimerContext<string>, out: Collector<WordCount>): void {
    out.collect({ word: ctx.getCurrentKey(), count: this.latest.value() ?? 0 });
  }
}

/** Receives every word's final count at the end of the input; writes them all, most frequent first. */
class FinalCounts implements Sink<WordCount> {
  constructor(
    private readonly directory: string,
    private readonly top: number,
  ) {}

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<WordCount>> {
    const file = await FileSink.forText<string>(this.directory).createWriter(ctx);
    const topWords = ctx.runtime.addAccumulator("top words", new ListAccumulator<string>());
    const distinct = ctx.runtime.getCounter("distinct words");
    const counts = new Map<string, number>();
    const top = this.top;
    return {
      write(wc: WordCount): void {
        counts.set(wc.word, wc.count);
      },
      async finish(): Promise<void> {
        const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
        for (const [word, count] of sorted) file.write(`${word} ${count}`);
        for (const [word, count] of sorted.slice(0, top)) topWords.add(`${word} (${count})`);
        distinct.add(counts.size);
        await file.finish?.();
      },
      close: () => file.close?.(),
    };
  }
}

export default defineJob("wordcount", (env, params) => {
  env
    .readTextFile(params.get("input", DEFAULT_INPUT))
    .name("Lines")
    .uid("lines")
    .flatMap(new Tokenizer())
    .name("Tokenize")
    .keyBy("word")
    .sum("count")
    .name("Count")
    .uid("count")
    .keyBy("word")
    .process(new FinalCount())
    .name("Final count")
    .uid("final-count")
    .sinkTo(new FinalCounts(params.get("output", DEFAULT_OUTPUT), TOP), "Final counts")
    .setParallelism(1);
});

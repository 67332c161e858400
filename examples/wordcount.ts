// Word count, the "hello world" of stream processing: read a text file, split it into lower-case
// words, count every word (keyBy + sum), write the final count of each word to out/wordcount/
// and report the most frequent words.
//
//   node bin/weir.mjs run examples/wordcount.ts -p 2 --checkpoint-interval 200   (npm run demo)
//   WEIR_INPUT=some/file.txt node bin/weir.mjs run examples/wordcount.ts
//
// The rolling sum emits the running count of a word after each occurrence (as in Flink's
// streaming WordCount); the "Final counts" sink keeps the latest count of every word and
// writes them all when the input ends.

import { fileURLToPath } from "node:url";
import {
  type Collector,
  type Counter,
  FileSink,
  ListAccumulator,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
  defineJob,
} from "weir-stream";

interface WordCount {
  word: string;
  count: number;
}

const input =
  process.env.WEIR_INPUT ?? fileURLToPath(new URL("./data/the-miller-of-the-weir.txt", import.meta.url));
const outputDir = process.env.WEIR_OUTPUT ?? "out/wordcount";
const TOP = 10;

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

/** Keeps the latest count of every word; at the end of the input writes them all, most frequent first. */
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
        // Counts of one word arrive in order, so the largest is the latest.
        if ((counts.get(wc.word) ?? 0) < wc.count) counts.set(wc.word, wc.count);
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

export default defineJob("wordcount", (env) => {
  env
    .readTextFile(input)
    .name("Lines")
    .flatMap(new Tokenizer())
    .name("Tokenize")
    .keyBy("word")
    .sum("count")
    .name("Count")
    .sinkTo(new FinalCounts(outputDir, TOP), "Final counts")
    .setParallelism(1);
});

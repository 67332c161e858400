// A source for the watermark doctor's tests: named splits, each owned by one reader subtask and
// read at its own pace (records per second) with its own event times (a start and a step), or
// with no data at all. Unbounded; in-thread jobs only (the script lives in the test's memory).

import {
  InputStatus,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../src/index.ts";

export interface ScriptedSplit {
  id: string;
  /** The reader subtask that reads it. */
  subtask: number;
  /** Records per second; 0: the split has no data. */
  rate: number;
  /** Event time of the first record, and the step between two records (ms). */
  start: number;
  step: number;
}

export interface ScriptedRecord {
  split: string;
  t: number;
}

type Split = { id: string };

export class ScriptedSplitSource implements Source<ScriptedRecord, Split> {
  readonly boundedness = "unbounded" as const;
  constructor(private readonly splits: ScriptedSplit[]) {}

  createEnumerator(ctx: SplitEnumeratorContext<Split>): SplitEnumerator<Split> {
    const splits = this.splits;
    return {
      start() {},
      addReader(subtask: number) {
        for (const s of splits) if (s.subtask === subtask) ctx.assignSplit({ id: s.id }, subtask);
      },
      handleSplitRequest() {},
      close() {},
    };
  }

  createReader(_ctx: SourceReaderContext): SourceReader<ScriptedRecord, Split> {
    const script = new Map(this.splits.map((s) => [s.id, s]));
    const reading: Array<{ split: ScriptedSplit; n: number; out?: ReaderOutput<ScriptedRecord> }> = [];
    const started = performance.now();
    return {
      start() {},
      addSplits(splits: Split[]) {
        for (const s of splits) reading.push({ split: script.get(s.id)!, n: 0 });
      },
      notifyNoMoreSplits() {},
      pollNext(output: ReaderOutput<ScriptedRecord>): InputStatus {
        const elapsed = (performance.now() - started) / 1000;
        let emitted = 0;
        for (const r of reading) {
          r.out ??= output.createOutputForSplit(r.split.id);
          const due = Math.floor(elapsed * r.split.rate);
          while (r.n < due && emitted < 64) {
            const t = r.split.start + r.n * r.split.step;
            r.out.collect({ split: r.split.id, t }, t);
            r.n++;
            emitted++;
          }
        }
        return emitted > 0 ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
      },
      isAvailable: () => new Promise((resolve) => setTimeout(resolve, 5)),
      close() {},
    };
  }
}

// PostgresCdcSource: the changes of PostgreSQL tables as a changelog stream, through a logical
// replication slot (pgoutput) and a publication. A non-parallel source: one split, the slot,
// read by subtask 0 (maxParallelism 1). See cdc-reader.ts for positions and acknowledgements.

import {
  InvalidArgumentError,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../../index.ts";
import { PostgresCdcReader } from "./cdc-reader.ts";
import type { ChangeRecord, PostgresCdcSourceOptions, PostgresCdcSplit } from "./cdc-types.ts";

export class PostgresCdcSource implements Source<ChangeRecord, PostgresCdcSplit> {
  readonly boundedness;
  readonly maxParallelism = 1;

  constructor(private readonly options: PostgresCdcSourceOptions) {
    const fail = (what: string): never => {
      throw new InvalidArgumentError(`PostgresCdcSource: ${what}`);
    };
    if (options === undefined || options === null) fail("needs options { connection, tables, slot }");
    if (!Array.isArray(options.tables) || options.tables.length === 0)
      fail("`tables` must name at least one table");
    if (typeof options.slot !== "string" || !/^[a-z0-9_]{1,63}$/.test(options.slot))
      fail(
        `slot must be 1-63 of [a-z0-9_] (PostgreSQL's rule for slot names), got ${JSON.stringify(options.slot)}`,
      );
    if (options.snapshot !== undefined && options.snapshot !== "initial" && options.snapshot !== "never")
      fail('snapshot must be "initial" or "never"');
    if (
      options.schemaChanges !== undefined &&
      options.schemaChanges !== "fail" &&
      options.schemaChanges !== "follow"
    )
      fail('schemaChanges must be "fail" or "follow"');
    if (options.startLsn !== undefined) {
      if (
        typeof options.startLsn !== "string" ||
        !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(options.startLsn)
      )
        fail(`startLsn must be an LSN like "0/16B3748", got ${JSON.stringify(options.startLsn)}`);
      if (options.snapshot === "initial")
        fail(
          'startLsn starts without a snapshot; drop snapshot: "initial" (a snapshot is of the slot\'s start)',
        );
    }
    const stop = options.stopAtLsn;
    if (
      stop !== undefined &&
      typeof stop !== "function" &&
      !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(stop)
    )
      fail(`stopAtLsn must be an LSN like "0/16B3748", got ${JSON.stringify(options.stopAtLsn)}`);
    this.boundedness = options.stopAtLsn === undefined ? ("unbounded" as const) : ("bounded" as const);
  }

  createEnumerator(ctx: SplitEnumeratorContext<PostgresCdcSplit>): SplitEnumerator<PostgresCdcSplit> {
    const split: PostgresCdcSplit = {
      id: this.options.slot,
      phase: "new",
      snapshotRows: [],
      startLsn: "0/0",
      lastCommitLsn: "0/0",
      columns: {},
    };
    return new SingleSplitEnumerator(ctx, [split]);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<PostgresCdcSplit>,
    splits: PostgresCdcSplit[],
  ): SplitEnumerator<PostgresCdcSplit> {
    return new SingleSplitEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext): SourceReader<ChangeRecord, PostgresCdcSplit> {
    return new PostgresCdcReader(this.options, ctx);
  }
}

/** Gives the one split to subtask 0 when it asks. */
class SingleSplitEnumerator implements SplitEnumerator<PostgresCdcSplit> {
  constructor(
    private readonly ctx: SplitEnumeratorContext<PostgresCdcSplit>,
    private pending: PostgresCdcSplit[],
  ) {}

  start(): void {}

  handleSplitRequest(subtask: number): void {
    if (subtask === 0) for (const s of this.pending.splice(0)) this.ctx.assignSplit(s, 0);
    this.ctx.signalNoMoreSplits(subtask);
  }

  addSplitsBack(splits: PostgresCdcSplit[]): void {
    this.pending.push(...splits);
  }

  snapshotState(): PostgresCdcSplit[] {
    return [...this.pending];
  }

  addReader(): void {}

  close(): void {}
}

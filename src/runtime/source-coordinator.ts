// Runs a source's split enumerator (once per job) and relays splits to the parallel readers,
// which may live in this thread or in others (through a ReaderGateway).

import type { Source, SplitEnumerator } from "../core/source.ts";

export interface ReaderGateway {
  addSplits(subtask: number, splits: unknown[]): void;
  noMoreSplits(subtask: number): void;
}

export class SourceCoordinator {
  private enumerator: SplitEnumerator<unknown> | undefined;

  constructor(
    readonly sourceName: string,
    private readonly source: Source<unknown, unknown>,
    readonly parallelism: number,
    private readonly gateway: ReaderGateway,
  ) {}

  async start(): Promise<void> {
    const gateway = this.gateway;
    this.enumerator = this.source.createEnumerator({
      parallelism: this.parallelism,
      assignSplit: (split, subtask) => gateway.addSplits(subtask, [split]),
      signalNoMoreSplits: (subtask) => gateway.noMoreSplits(subtask),
    });
    await this.enumerator.start();
  }

  registerReader(subtask: number): void {
    this.enumerator!.addReader(subtask);
  }

  handleSplitRequest(subtask: number): void {
    this.enumerator!.handleSplitRequest(subtask);
  }

  async close(): Promise<void> {
    await this.enumerator?.close();
  }
}

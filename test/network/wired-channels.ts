// `n` result subpartitions wired in-thread to `n` input channels of STRING records (the receiving
// and the crediting side of a local edge), for tests that drive a writer and read the channels.

import { Types } from "../../src/core/types/types.ts";
import type { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { InputChannel } from "../../src/network/input-gate.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";

export function wiredChannels(
  pool: NetworkBufferPool,
  n: number,
): { subpartitions: ResultSubpartition[]; channels: InputChannel[] } {
  const subpartitions: ResultSubpartition[] = [];
  const channels: InputChannel[] = [];
  for (let i = 0; i < n; i++) {
    const sp = new ResultSubpartition(pool, 100, () => {});
    const ch = new InputChannel(i, 0, Types.STRING.createSerializer(), "edge", () => {});
    sp.receiver = ch;
    ch.returner = sp;
    subpartitions.push(sp);
    channels.push(ch);
  }
  return { subpartitions, channels };
}

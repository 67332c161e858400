// The consumer's read loop alone: InputChannel.readBuffer over 32 KiB buffers of word-count records
// ({word, count}, typed OBJECT), CPU time per record (less sensitive to other processes on the
// machine than wall time), median of interleaved rounds. Variants: no deadline (whole buffers), a
// deadline never reached (what a task's step passes), and a deadline always passed (a read stops at
// every clock check: the most slicing can cost).
// Run: node --import tsx bench/channel-read.ts [rounds=15]

import { Types } from "../src/index.ts";
import { BufferKind, type NetworkBuffer } from "../src/network/buffer.ts";
import { NetworkBufferPool } from "../src/network/buffer-pool.ts";
import { type ElementHandler, InputChannel } from "../src/network/input-gate.ts";
import { RecordWriter } from "../src/network/record-writer.ts";
import { ResultSubpartition } from "../src/network/result-subpartition.ts";

const ROUNDS = Number(process.argv[2] ?? 15);
const BUFFER_SIZE = 32 * 1024;
const RECORDS = 200_000;
const PASSES = 20;

const type = Types.OBJECT({ word: Types.STRING, count: Types.INT });

function buffers(): NetworkBuffer[] {
  const out: NetworkBuffer[] = [];
  const sp = new ResultSubpartition(new NetworkBufferPool(BUFFER_SIZE, 1 << 20), 1 << 30, () => {});
  sp.receiver = { deliver: (b) => out.push(b) };
  const w = new RecordWriter(
    [sp],
    { selectChannel: () => 0 },
    type.createSerializer(),
    BUFFER_SIZE,
    "bench",
    -1,
  );
  for (let i = 0; i < RECORDS; i++) w.emit({ word: `w${i % 1000}`, count: 1 }, Number.NaN);
  w.flushAll();
  return out.filter((b) => b.kind === BufferKind.DATA);
}

let total = 0;
const handler: ElementHandler = {
  processRecord: (v) => {
    total += (v as { count: number }).count;
  },
  processWatermark: () => {},
  processWatermarkStatus: () => {},
  processBarrier: () => {},
};

/** CPU ns per record of reading every buffer PASSES times with `deadline()`. */
function run(data: NetworkBuffer[], deadline: () => number | undefined): number {
  const ch = new InputChannel(0, 0, type.createSerializer(), "bench", () => {});
  ch.returner = { giveBack: () => {} };
  const t0 = process.cpuUsage();
  for (let p = 0; p < PASSES; p++) {
    for (const b of data) {
      ch.queue.push(b);
      const d = deadline();
      while (ch.queue.length > 0) ch.readBuffer(handler, d);
    }
  }
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / (PASSES * RECORDS);
}

const variants: Array<[string, () => number | undefined]> = [
  ["no deadline (whole buffers)", () => undefined],
  ["deadline not reached", () => performance.now() + 1e9],
  ["deadline passed (stop at every check)", () => Number.NEGATIVE_INFINITY],
];

const data = buffers();
const results = variants.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + r) % variants.length; // each round starts at another variant
    results[i]!.push(run(data, variants[i]![1]));
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`InputChannel.readBuffer, ${RECORDS} {word, count} records in ${data.length} buffers of 32 KiB`);
console.log(`CPU ns per record, median of ${ROUNDS} interleaved rounds [min..max]:`);
variants.forEach(([name], i) => {
  const v = results[i]!;
  console.log(
    `  ${name.padEnd(40)} ${median(v).toFixed(1)} [${Math.min(...v).toFixed(1)}..${Math.max(...v).toFixed(1)}]`,
  );
});
if (total !== ROUNDS * variants.length * PASSES * RECORDS) throw new Error(`read ${total} records, not all`);

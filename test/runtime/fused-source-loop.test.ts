// The generated record loop of a source task (runtime/fused-source-loop.ts): a sequence,
// generator or collection source followed by maps and filters into a sink runs as one loop
// compiled per task. Through it, every operator counts exactly the records the
// record-at-a-time path counts, a failure names the operator that threw, and each record
// reaches the sink before its watermark generator sees it. The tests check that the loop ran
// (the sink operator's processElement, which it replaces, is never called) and, for a chain it
// cannot run, that the record-at-a-time path did.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CollectionSource,
  DataGeneratorSource,
  JobExecutionError,
  type Sink,
  StreamExecutionEnvironment,
  type WatermarkGenerator,
  WatermarkStrategy,
} from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";

/** Calls of SinkOperator.processElement: the record-at-a-time path makes them, the loop does not. */
let perRecordSinkCalls = 0;
const original = SinkOperator.prototype.processElement;
before(() => {
  SinkOperator.prototype.processElement = function (this: SinkOperator, value: unknown) {
    perRecordSinkCalls++;
    original.call(this, value);
  };
});
after(() => {
  SinkOperator.prototype.processElement = original;
});

function listSink<T>(out: T[], failAt?: T): Sink<T> {
  return {
    createWriter: () => ({
      write: (v: T) => {
        if (v === failAt) throw new RangeError(`boom in sink at ${String(v)}`);
        out.push(v);
      },
    }),
  };
}

type Where = "m1" | "f1" | "m2" | "sink" | "source" | "none";

/** source -> m1 -> f1 -> m2 -> sink, failing in `where` at record 778 (kept by f1) (of 0..1999). */
async function runChain(source: "sequence" | "generator" | "collection", where: Where, parallelism = 1) {
  const env = new StreamExecutionEnvironment({ parallelism });
  const boom = (at: Where, i: number) => {
    if (where === at && i === 778) throw new RangeError(`boom in ${at}`);
  };
  const n = 2000;
  const stream =
    source === "sequence"
      ? env.fromSequence(0, n - 1)
      : source === "generator"
        ? env.fromSource(
            new DataGeneratorSource(
              (i) => {
                boom("source", i);
                return i;
              },
              { count: n },
            ),
            "src",
          )
        : env.fromSource(
            new CollectionSource(
              Array.from({ length: n }, (_, i) => i),
              undefined,
            ),
            "src",
          );
  const out: number[] = [];
  stream
    .name("src")
    .map((i: number) => {
      boom("m1", i);
      return { i, twice: i * 2 };
    })
    .name("m1")
    .filter((e) => {
      boom("f1", e.i);
      return e.i % 3 !== 0;
    })
    .name("f1")
    .map((e) => {
      boom("m2", e.i);
      return e.twice + 1;
    })
    .name("m2")
    .sinkTo(listSink(out, where === "sink" ? 778 * 2 + 1 : undefined), "sink");
  const result = await env.execute(`fused-${source}-${where}`);
  return { result, out, n };
}

describe("a source's generated record loop", () => {
  for (const source of ["sequence", "generator", "collection"] as const) {
    it(`counts every operator's records exactly (${source}), over many jobs in one process`, async () => {
      for (let job = 0; job < 4; job++) {
        perRecordSinkCalls = 0;
        const { result, out, n } = await runChain(source, "none");
        assert.equal(perRecordSinkCalls, 0, "the generated loop ran, not the record-at-a-time path");
        const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
        assert.deepEqual(
          out,
          kept.map((i) => i * 2 + 1),
        );
        const v = result.vertices[0]!;
        const op = (name: string) => v.operators.find((o) => o.name === name)!;
        assert.equal(v.recordsIn, n, "the source's records");
        assert.deepEqual(
          ["src", "m1", "f1", "m2", "sink"].map((name) => [name, op(name).recordsIn, op(name).recordsOut]),
          [
            ["src", n, n],
            ["m1", n, n],
            ["f1", n, kept.length],
            ["m2", kept.length, kept.length],
            ["sink", kept.length, 0],
          ],
        );
      }
    });
  }

  it("counts exactly at p=2, where each generator reader strides over the indexes", async () => {
    perRecordSinkCalls = 0;
    const { result, out, n } = await runChain("generator", "none", 2);
    assert.equal(perRecordSinkCalls, 0);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
    assert.deepEqual(
      [...out].sort((a, b) => a - b),
      kept.map((i) => i * 2 + 1),
    );
    const sinkIn = result.vertices[0]!.operators.find((o) => o.name === "sink")!.recordsIn;
    assert.equal(sinkIn, kept.length);
  });

  for (const where of ["m1", "f1", "m2", "sink", "source"] as const) {
    it(`names the operator that threw (${where})`, async () => {
      perRecordSinkCalls = 0;
      await assert.rejects(runChain("generator", where), (e) => {
        assert.ok(e instanceof JobExecutionError, String(e));
        assert.equal(e.location?.operatorName, where === "source" ? "src" : where);
        assert.match(e.message, new RegExp(`boom in ${where}`));
        return true;
      });
      assert.equal(perRecordSinkCalls, 0, "it failed in the generated loop");
    });
  }

  it("assigns timestamps and hands each record to its watermark generator after the sink", async () => {
    const log: string[] = [];
    const logging: WatermarkGenerator<number> = {
      onEvent: (v, ts, output) => {
        log.push(`event ${v} @${ts}`);
        output.emitWatermark(ts - 1);
      },
      onPeriodicEmit: () => {},
    };
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const strategy = WatermarkStrategy.forGenerator(() => logging).withTimestampAssigner(
      (v: number) => v * 10,
    );
    const written: number[] = [];
    env
      .fromSource(new CollectionSource([1, 2, 3, 4], undefined), strategy, "src")
      .filter((v: number) => v !== 3)
      .sinkTo(
        {
          createWriter: () => ({
            write: (v: number) => {
              written.push(v);
              log.push(`sink ${v}`);
            },
          }),
        },
        "sink",
      );
    perRecordSinkCalls = 0;
    await env.execute("fused-event-time");
    assert.equal(perRecordSinkCalls, 0);
    assert.deepEqual(log, [
      "sink 1",
      "event 1 @10",
      "sink 2",
      "event 2 @20",
      "event 3 @30",
      "sink 4",
      "event 4 @40",
    ]);
  });

  it("fails a record without a usable event timestamp, naming the source", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromSource(
        new CollectionSource([1, 2], undefined),
        WatermarkStrategy.forMonotonousTimestamps<number>(),
        "src",
      )
      .map((v: number) => v)
      .sinkTo(listSink([]), "sink");
    await assert.rejects(env.execute("fused-no-timestamp"), (e) => {
      assert.ok(e instanceof JobExecutionError, String(e));
      assert.equal(e.location?.operatorName, "src");
      assert.match(e.message, /without a usable timestamp/);
      return true;
    });
  });

  it("runs a timestamp assigner without event time for every record, as the record-at-a-time path does", async () => {
    // noWatermarks() with an assigner: no event time, but the assigner is the user's code and
    // runs per record either way (here it refuses record 3).
    const run = async (fused: boolean) => {
      const env = new StreamExecutionEnvironment({ parallelism: 1 });
      const seen: number[] = [];
      const strategy = WatermarkStrategy.noWatermarks<number>().withTimestampAssigner((v: number) => {
        seen.push(v);
        if (v === 3) throw new RangeError("record 3 has no time");
        return v * 10;
      });
      const s = env.fromSource(new CollectionSource([1, 2, 3, 4], undefined), strategy, "src");
      (fused
        ? s.map((v: number) => v)
        : s.process<number>({ processElement: (v: number, _ctx, c) => c.collect(v) })
      ).sinkTo(listSink([]), "sink");
      perRecordSinkCalls = 0;
      await assert.rejects(env.execute(fused ? "fused-assigner" : "assigner"), (e) => {
        assert.ok(e instanceof JobExecutionError, String(e));
        assert.match(e.message, /record 3 has no time/);
        return true;
      });
      assert.equal(perRecordSinkCalls, fused ? 0 : 2, fused ? "the loop ran" : "the per-record path ran");
      return seen;
    };
    assert.deepEqual(await run(false), [1, 2, 3]);
    assert.deepEqual(await run(true), [1, 2, 3]);
  });

  it("leaves other chains to the record-at-a-time path (a process function)", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out: number[] = [];
    env
      .fromSequence(1, 50)
      .process<number>({ processElement: (x: number, _ctx, c) => c.collect(x) })
      .sinkTo(listSink(out), "sink");
    perRecordSinkCalls = 0;
    await env.execute("not-fused");
    assert.equal(perRecordSinkCalls, 50);
    assert.equal(out.length, 50);
  });
});

// env.getCheckpointConfig(), the fluent checkpoint settings as Flink users know them: each setter
// lands in the compiled job, and a value that cannot work (a zero interval, a negative pause, a
// fractional count, an unknown mode) is refused where it is set, naming the setting. Found
// unguarded by mutation testing (TESTING.md).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CHECKPOINT_SETTINGS } from "../../src/checkpoint/checkpoint-config.ts";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";

function env(): StreamExecutionEnvironment {
  return new StreamExecutionEnvironment({ parallelism: 1 });
}

function compiled(e: StreamExecutionEnvironment) {
  e.fromSequence(1, 2).print();
  return e.compile().checkpoint;
}

const refusal = (what: RegExp) => (e: unknown) => e instanceof InvalidArgumentError && what.test(e.message);

describe("checkpoint config", () => {
  it("is off by default, with Flink's defaults", () => {
    const e = env();
    assert.equal(e.getCheckpointConfig().isCheckpointingEnabled(), false);
    assert.deepEqual(compiled(e), {
      interval: 0,
      mode: "EXACTLY_ONCE",
      timeout: 600_000,
      minPauseBetweenCheckpoints: 0,
      maxConcurrentCheckpoints: 1,
      tolerableFailedCheckpoints: 0,
      retention: "DELETE_ON_CANCELLATION",
      retainedCheckpoints: 1,
      unaligned: false,
      alignedCheckpointTimeout: 0,
      directory: ".weir/checkpoints",
      incremental: false,
    });
    assert.deepEqual(DEFAULT_CHECKPOINT_SETTINGS, compiled(env()));
  });

  it("every setter reaches the compiled job", () => {
    const e = env();
    const c = e.getCheckpointConfig();
    assert.equal(c.setCheckpointInterval(1), c, "setters chain");
    assert.equal(c.isCheckpointingEnabled(), true, "an interval of 1 ms enables checkpointing");
    c.setCheckpointInterval(250)
      .setCheckpointingMode("AT_LEAST_ONCE")
      .setCheckpointTimeout(5000)
      .setMinPauseBetweenCheckpoints(0)
      .setMinPauseBetweenCheckpoints(40)
      .setMaxConcurrentCheckpoints(3)
      .setTolerableCheckpointFailureNumber(0)
      .setTolerableCheckpointFailureNumber(2)
      .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION")
      .setNumRetainedCheckpoints(4)
      .enableUnalignedCheckpoints()
      .setAlignedCheckpointTimeout(0)
      .setAlignedCheckpointTimeout(30)
      .setCheckpointStorage("/tmp/weir-ckpt-config-test")
      .enableIncrementalCheckpoints();
    assert.deepEqual(compiled(e), {
      interval: 250,
      mode: "AT_LEAST_ONCE",
      timeout: 5000,
      minPauseBetweenCheckpoints: 40,
      maxConcurrentCheckpoints: 3,
      tolerableFailedCheckpoints: 2,
      retention: "RETAIN_ON_CANCELLATION",
      retainedCheckpoints: 4,
      unaligned: true,
      alignedCheckpointTimeout: 30,
      directory: "/tmp/weir-ckpt-config-test",
      incremental: true,
    });
    c.enableUnalignedCheckpoints(false)
      .enableIncrementalCheckpoints(false)
      .setCheckpointingMode("EXACTLY_ONCE");
    c.setExternalizedCheckpointRetention("DELETE_ON_CANCELLATION").setMaxConcurrentCheckpoints(1);
    const s = c.settings;
    assert.deepEqual(
      [s.unaligned, s.incremental, s.mode, s.retention, s.maxConcurrentCheckpoints, s.retainedCheckpoints],
      [false, false, "EXACTLY_ONCE", "DELETE_ON_CANCELLATION", 1, 4],
    );
    assert.equal(c.setNumRetainedCheckpoints(1).settings.retainedCheckpoints, 1);
  });

  it("enableCheckpointing sets the interval and the mode", () => {
    const e = env().enableCheckpointing(100, "AT_LEAST_ONCE");
    assert.deepEqual([compiled(e).interval, compiled(e).mode], [100, "AT_LEAST_ONCE"]);
  });

  it("refuses a value that cannot work, naming the setting, and keeps the old one", () => {
    const c = env().getCheckpointConfig();
    const cases: Array<[() => unknown, RegExp]> = [
      [() => c.setCheckpointInterval(0), /checkpoint interval/],
      [() => c.setCheckpointInterval(-5), /checkpoint interval/],
      [() => c.setCheckpointInterval(Number.NaN), /checkpoint interval/],
      [() => c.setCheckpointInterval(Number.POSITIVE_INFINITY), /checkpoint interval/],
      [() => c.setCheckpointTimeout(0), /checkpoint timeout/],
      [() => c.setMinPauseBetweenCheckpoints(-1), /min pause/],
      [() => c.setMinPauseBetweenCheckpoints(Number.NaN), /min pause/],
      [() => c.setAlignedCheckpointTimeout(-1), /aligned checkpoint timeout/],
      [() => c.setAlignedCheckpointTimeout(Number.POSITIVE_INFINITY), /aligned checkpoint timeout/],
      [() => c.setMaxConcurrentCheckpoints(0), /max concurrent/],
      [() => c.setMaxConcurrentCheckpoints(1.5), /max concurrent/],
      [() => c.setTolerableCheckpointFailureNumber(-1), /tolerable/],
      [() => c.setTolerableCheckpointFailureNumber(0.5), /tolerable/],
      [() => c.setNumRetainedCheckpoints(0), /retained checkpoints/],
      [() => c.setNumRetainedCheckpoints(2.5), /retained checkpoints/],
      [() => c.setCheckpointingMode("EXACTLY-ONCE" as never), /checkpointing mode/],
      [() => c.setCheckpointingMode(undefined as never), /checkpointing mode/],
      [() => c.setExternalizedCheckpointRetention("RETAIN" as never), /retention/],
      [() => c.setCheckpointStorage(""), /checkpoint storage/],
      [() => c.setCheckpointStorage(42 as never), /checkpoint storage/],
    ];
    for (const [call, what] of cases) assert.throws(call, refusal(what), String(what));
    assert.deepEqual(c.settings, DEFAULT_CHECKPOINT_SETTINGS, "a refused value changes nothing");
  });
});

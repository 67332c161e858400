// Bad input to the API: each is a clear error that says what and where, refused when the job is
// built where that is possible, otherwise failing the job with the operator named.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InvalidArgumentError,
  InvalidJobError,
  JobExecutionError,
  type Sink,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  WeirError,
} from "../../src/index.ts";

function env(p = 2): StreamExecutionEnvironment {
  return new StreamExecutionEnvironment({ parallelism: p });
}

/** Asserts `fn` throws an error of `type` whose message matches every pattern. */
function refuses(fn: () => unknown, type: new (...a: any[]) => Error, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    for (const p of patterns) assert.match((e as Error).message, p);
    return true;
  });
}

/** Asserts that running the job fails with a JobExecutionError whose message matches every pattern. */
async function failsWith(e: StreamExecutionEnvironment, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(e.execute("bad-job"), (err: unknown) => {
    assert.ok(err instanceof WeirError, `expected a WeirError, got ${err}`);
    for (const p of patterns) assert.match((err as Error).message, p);
    return true;
  });
}

describe("parallelism", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it(`the environment refuses parallelism ${bad}`, () => {
      refuses(
        () => new StreamExecutionEnvironment({ parallelism: bad }),
        InvalidArgumentError,
        /parallelism must be a positive integer/,
      );
      refuses(() => env().setParallelism(bad), InvalidArgumentError, /parallelism/);
    });

    it(`an operator refuses parallelism ${bad}, naming the operator`, () => {
      refuses(
        () =>
          env()
            .fromSequence(1, 2)
            .map((x) => x)
            .name("my-map")
            .setParallelism(bad),
        InvalidArgumentError,
        /my-map/,
        /positive integer/,
      );
    });
  }

  it("maxParallelism below the parallelism is refused when the job is built", async () => {
    const e = new StreamExecutionEnvironment({ parallelism: 8, maxParallelism: 4 });
    e.fromSequence(1, 10).name("numbers").print();
    refuses(
      () => e.getExecutionPlan(),
      InvalidJobError,
      /numbers/,
      /parallelism 8 exceeds max parallelism 4/,
      /raise maxParallelism/,
    );
    await assert.rejects(e.execute(), InvalidJobError);
    const e2 = env(4);
    e2.fromSequence(1, 10)
      .map((x) => x)
      .name("narrow")
      .setMaxParallelism(2)
      .print();
    refuses(() => e2.getExecutionPlan(), InvalidJobError, /narrow/, /exceeds max parallelism 2/);
    refuses(() => env().setMaxParallelism(0), InvalidArgumentError, /maxParallelism/);
    refuses(() => env().setMaxParallelism(1 << 20), InvalidArgumentError, /at most 32768/);
  });

  it("forward() between different parallelism is refused when the job is built", () => {
    const e = env(2);
    e.fromSequence(1, 10)
      .name("two")
      .forward()
      .map((x) => x)
      .name("three")
      .setParallelism(3)
      .print();
    refuses(() => e.getExecutionPlan(), InvalidJobError, /forward\(\)/, /'two'/, /'three'/, /rebalance\(\)/);
  });

  it("a buffer timeout below -1 is refused", () => {
    refuses(
      () => new StreamExecutionEnvironment({ bufferTimeout: -5 }),
      InvalidArgumentError,
      /buffer timeout/,
    );
  });
});

describe("job structure", () => {
  it("a job with no sink is refused before it runs", async () => {
    const e = env();
    e.fromSequence(1, 10).map((x) => x);
    await assert.rejects(e.execute("sinkless"), (err: unknown) => {
      assert.ok(err instanceof InvalidJobError);
      assert.match(err.message, /'sinkless' has no sink/);
      assert.match(err.message, /print\(\), collect\(\), sinkTo/);
      return true;
    });
  });

  it("a duplicate uid is refused, naming both operators", () => {
    const e = env();
    const s = e.fromSequence(1, 10);
    s.map((x) => x)
      .name("first")
      .uid("same")
      .print();
    s.map((x) => x)
      .name("second")
      .uid("same")
      .print();
    refuses(() => e.getExecutionPlan(), InvalidJobError, /uid 'same'/, /'first'/, /'second'/);
  });
});

describe("functions and arguments", () => {
  it("map(null), flatMap({}), filter('x'), process(null) are refused at once", () => {
    const s = env().fromSequence(1, 2);
    refuses(() => s.map(null as never), InvalidArgumentError, /map\(\) needs a function/, /null/);
    refuses(() => s.flatMap({} as never), InvalidArgumentError, /flatMap\(\)/);
    refuses(() => s.filter("x" as never), InvalidArgumentError, /filter\(\)/);
    refuses(() => s.process(null as never), InvalidArgumentError, /process\(\)/, /processElement/);
  });

  it("keyBy(123) is refused", () => {
    refuses(
      () =>
        env()
          .fromSequence(1, 2)
          .keyBy(123 as never),
      InvalidArgumentError,
      /keyBy\(\) needs a key selector function or a field name/,
    );
  });

  it("sinkTo({}) is refused", () => {
    refuses(
      () =>
        env()
          .fromSequence(1, 2)
          .sinkTo({} as Sink<number>),
      InvalidArgumentError,
      /sinkTo\(\) needs a Sink/,
    );
  });

  it("partitionCustom with a non-function is refused", () => {
    refuses(
      () =>
        env()
          .fromSequence(1, 2)
          .partitionCustom(3 as never, (x) => x),
      InvalidArgumentError,
      /partitionCustom\(\)/,
    );
  });
});

describe("bad keys and partitions at run time", () => {
  for (const [label, key] of [
    ["undefined", undefined],
    ["null", null],
    ["an object with a function", { f: () => 1 }],
  ] as const) {
    it(`a key selector returning ${label} fails the job, naming the edge`, async () => {
      const e = env();
      e.fromSequence(1, 10)
        .name("numbers")
        .keyBy(() => key as unknown as string)
        .map((x) => x)
        .name("keyed-map")
        .print();
      await failsWith(e, /'numbers' -> 'keyed-map'/, /key/);
    });
  }

  it("a key field that is missing fails the job, naming the field", async () => {
    const e = env();
    e.fromElements({ a: 1 }, { b: 2 } as unknown as { a: number })
      .keyBy("a")
      .map((x) => x)
      .print();
    await failsWith(e, /no field 'a'/);
  });

  it("a custom partitioner returning an out-of-range index fails the job, naming the edge and the range", async () => {
    const e = env(3);
    e.fromSequence(1, 10)
      .name("numbers")
      .partitionCustom(
        (k: number) => k,
        (x) => x,
      )
      .map((x) => x)
      .name("custom-target")
      .print();
    await failsWith(e, /custom partitioner/, /'numbers' -> 'custom-target'/, /0\.\.2/);
  });
});

describe("keyed state on a non-keyed stream", () => {
  it("getState in open() fails the job: names the operator and says to call keyBy", async () => {
    const e = env();
    e.fromSequence(1, 10)
      .map({
        open(ctx) {
          ctx.getState(new ValueStateDescriptor<number>("count"));
        },
        map: (x: number) => x,
      })
      .name("stateful")
      .uid("stateful-uid")
      .print();
    await assert.rejects(e.execute("no-keys"), (err: unknown) => {
      assert.ok(err instanceof JobExecutionError, `got ${err}`);
      assert.match(err.message, /'stateful'/);
      assert.match(err.message, /stateful-uid/);
      assert.match(err.message, /not keyed/);
      assert.match(err.message, /keyBy/);
      return true;
    });
  });

  it("getState in a process function fails the job likewise", async () => {
    const e = env();
    e.fromSequence(1, 10)
      .process({
        processElement(x: number, ctx, out) {
          ctx.runtime.getState(new ValueStateDescriptor<number>("n"));
          out.collect(x);
        },
      })
      .name("proc")
      .print();
    await failsWith(e, /'proc'/, /keyBy/);
  });
});

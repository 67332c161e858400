// socketTextStream against real TCP servers on loopback (node:net): lines with "\r\n" and a last
// one without a delimiter, UTF-8 cut between two writes, a custom delimiter with reconnections,
// backpressure over many lines, a job that samples an endless server and hangs up, a server that
// is not there (one clear error), a restart that reconnects, and bad arguments.

import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import { describe, it } from "node:test";
import {
  InvalidArgumentError,
  RestartStrategies,
  SocketSourceError,
  SocketTextSource,
  StreamExecutionEnvironment,
} from "../../src/index.ts";

const env = () => new StreamExecutionEnvironment({ parallelism: 1, bufferTimeout: 0 });

/** A server on 127.0.0.1 whose n-th connection (from 0) is handed to `serve(socket, n)`. */
async function server(
  serve: (socket: Socket, n: number) => void,
): Promise<{ port: number; srv: Server; count: () => number }> {
  let n = 0;
  const srv = createServer((s) => serve(s, n++));
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  return { port: (srv.address() as AddressInfo).port, srv, count: () => n };
}

describe("socketTextStream", () => {
  it("reads lines until the server closes, dropping \\r before \\n and keeping a last line", async () => {
    const { port, srv } = await server((s) => {
      s.write("hello world\r\nz");
      setImmediate(() => {
        // "ü" of "zürich" cut between two writes, mid-character
        const bytes = Buffer.from("ürich\nlast without newline");
        s.write(bytes.subarray(0, 1));
        setImmediate(() => s.end(bytes.subarray(1)));
      });
    });
    try {
      const out = await env().socketTextStream("127.0.0.1", port).executeAndCollect();
      assert.deepEqual(out, ["hello world", "zürich", "last without newline"]);
    } finally {
      srv.close();
    }
  });

  it("cuts at a custom delimiter and reconnects maxRetry times", async () => {
    const { port, srv, count } = await server((s, n) => s.end(n === 0 ? "a;b;" : n === 1 ? "c;d" : "never;"));
    try {
      const e = env();
      const out = await e
        .fromSource(
          new SocketTextSource("127.0.0.1", port, { delimiter: ";", maxRetry: 1, retryDelayMs: 10 }),
        )
        .executeAndCollect();
      assert.deepEqual(out, ["a", "b", "c", "d"]);
      assert.equal(count(), 2);
    } finally {
      srv.close();
    }
  });

  it("takes many lines through backpressure without losing one", async () => {
    const N = 50_000;
    const { port, srv } = await server((s) => {
      let i = 0;
      const more = () => {
        while (i < N) {
          if (!s.write(`line ${i++}\n`)) return void s.once("drain", more);
        }
        s.end();
      };
      more();
    });
    try {
      const out = await env()
        .socketTextStream("127.0.0.1", port)
        .map((l) => Number(l.slice(5)))
        .executeAndCollect();
      assert.equal(out.length, N);
      for (let i = 0; i < N; i++) if (out[i] !== i) assert.fail(`record ${i} is ${out[i]}`);
    } finally {
      srv.close();
    }
  });

  it("samples an endless server and hangs up", async () => {
    let closed: Promise<unknown> | undefined;
    const { port, srv } = await server((s) => {
      closed = once(s, "close");
      s.on("error", () => {});
      let i = 0;
      const timer = setInterval(() => s.write(`tick ${i++}\n`), 1);
      s.on("close", () => clearInterval(timer));
    });
    try {
      const out = await env().socketTextStream("127.0.0.1", port).executeAndCollect(3);
      assert.deepEqual(out, ["tick 0", "tick 1", "tick 2"]);
      await closed; // the job's end closed the connection
    } finally {
      srv.close();
    }
  });

  it("fails the job with one clear error when nothing listens", async () => {
    const { port, srv } = await server(() => {});
    srv.close();
    await once(srv, "close");
    await assert.rejects(env().socketTextStream("127.0.0.1", port).executeAndCollect(), (err: unknown) => {
      const text = `${(err as Error).message} ${String((err as { cause?: Error }).cause?.message ?? "")}`;
      assert.match(
        text,
        new RegExp(`socketTextStream\\(127\\.0\\.0\\.1:${port}\\): cannot connect: ECONNREFUSED`),
      );
      assert.match(text, /is a server listening there/);
      return true;
    });
  });

  it("reconnects after a restart from a checkpoint", async () => {
    const { port, srv, count } = await server((s, n) => {
      s.on("error", () => {});
      if (n === 0)
        s.write("a\nboom\n"); // stays open: the job fails on "boom"
      else s.end("c\n");
    });
    let failed = false;
    try {
      const e = env();
      e.enableCheckpointing(20);
      e.setRestartStrategy(RestartStrategies.fixedDelay(1, 0));
      const out = await e
        .socketTextStream("127.0.0.1", port)
        .map((l) => {
          if (l === "boom" && !failed) {
            failed = true;
            throw new Error("boom");
          }
          return l;
        })
        .executeAndCollect();
      assert.ok(failed);
      assert.equal(count(), 2, "the restarted source connected again");
      assert.ok(out.includes("c"), `the second connection's line arrived: ${JSON.stringify(out)}`);
      assert.ok(!out.includes("boom"));
    } finally {
      srv.close();
    }
  });

  it("refuses bad arguments by name", () => {
    const e = env();
    assert.throws(() => e.socketTextStream("", 9999), /socketTextStream\(\): needs a host name/);
    assert.throws(
      () => e.socketTextStream("localhost", 70_000),
      /port must be an integer 1-65535, got 70000/,
    );
    assert.throws(
      () => e.socketTextStream("localhost", 9999, ""),
      /the delimiter must be a non-empty string/,
    );
    assert.throws(() => e.socketTextStream("localhost", 9999, "\n", -2), /maxRetry must be an integer >= -1/);
    assert.throws(() => new SocketTextSource("localhost", 9999, { retryDelayMs: -1 }), InvalidArgumentError);
    assert.ok(new SocketSourceError("x") instanceof Error);
  });
});

// One bounded job in-thread at parallelism 1, timed from execute() to its end (deployment
// included): the Weir side of the connector benchmarks.

import { StreamExecutionEnvironment } from "../../src/index.ts";

export async function weirJob(build: (env: StreamExecutionEnvironment) => void, name: string) {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  build(env);
  const t0 = performance.now();
  const result = await env.execute(name);
  return { result, ms: performance.now() - t0 };
}

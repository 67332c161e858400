// A CPU profile of the calling thread (the flame graph endpoint, Flink's rest.flamegraph): the V8
// sampling profiler through a node:inspector session on this thread's own isolate, sampled for a
// short while as the thread goes on running its tasks, folded into Flink's flame graph shape — a
// tree of {name, value, children} whose value is the number of samples in that frame and below.

import { Session } from "node:inspector";

/** A frame of the flame graph (Flink's VertexFlameGraph node). */
export interface FlameGraphNode {
  name: string;
  /** Samples taken in this frame or in the frames it called. */
  value: number;
  children: FlameGraphNode[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

/** Profile this thread for `durationMs` (sampling every `intervalUs` µs). */
export async function profileThisThread(durationMs: number, intervalUs = 1000): Promise<FlameGraphNode> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))),
    );
  try {
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: intervalUs });
    await post("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    const { profile } = await post<{ profile: Profile }>("Profiler.stop");
    await post("Profiler.disable");
    return toFlameGraph(profile);
  } finally {
    session.disconnect();
  }
}

/** Fold a V8 CPU profile into a flame graph tree rooted at "root". */
export function toFlameGraph(profile: Profile): FlameGraphNode {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const id of profile.samples ?? []) self.set(id, (self.get(id) ?? 0) + 1);
  const build = (node: ProfileNode): FlameGraphNode => {
    const children = (node.children ?? [])
      .map((c) => byId.get(c))
      .filter((c): c is ProfileNode => c !== undefined)
      .map(build)
      .filter((c) => c.value > 0);
    const value = (self.get(node.id) ?? 0) + children.reduce((s, c) => s + c.value, 0);
    return { name: frameName(node), value, children };
  };
  const root = profile.nodes[0];
  if (root === undefined) return { name: "root", value: 0, children: [] };
  return { ...build(root), name: "root" };
}

function frameName(node: ProfileNode): string {
  const f = node.callFrame;
  const fn = f.functionName.length > 0 ? f.functionName : "(anonymous)";
  if (f.url.length === 0) return fn;
  const file = f.url.slice(f.url.lastIndexOf("/") + 1);
  return `${fn} (${file}:${f.lineNumber + 1})`;
}

/** Several threads' graphs as one: frames of the same name under the same parent are added up. */
export function mergeFlameGraphs(graphs: readonly FlameGraphNode[]): FlameGraphNode {
  const root: FlameGraphNode = { name: "root", value: 0, children: [] };
  const add = (into: FlameGraphNode, from: FlameGraphNode) => {
    into.value += from.value;
    for (const c of from.children) {
      let mine = into.children.find((x) => x.name === c.name);
      if (mine === undefined) {
        mine = { name: c.name, value: 0, children: [] };
        into.children.push(mine);
      }
      add(mine, c);
    }
  };
  for (const g of graphs) add(root, g);
  return root;
}

// A vertex's CPU flame graph (`GET /jobs/:jid/vertices/:vid/flamegraph`), drawn minimally as an
// icicle: the root on top, each frame as wide as its share of the samples, callees below it. Taken
// on request (a button), since profiling costs the vertex's threads some CPU; when the server has
// flame graphs off, it says so.

import { useState } from "preact/hooks";
import { get } from "./api.ts";

interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

interface FlameAnswer {
  data: FlameNode | null;
  message?: string;
}

const MAX_DEPTH = 24;
/** Frames under this share of the samples are left out. */
const MIN_SHARE = 0.005;

function Frame({ node, total, depth }: { node: FlameNode; total: number; depth: number }) {
  const share = node.value / total;
  const kids = depth < MAX_DEPTH ? node.children.filter((c) => c.value / total >= MIN_SHARE) : [];
  return (
    <div class="flame-frame" style={{ width: `${(share * 100).toFixed(3)}%` }}>
      <div class="flame-label" title={`${node.name}: ${node.value} samples (${(share * 100).toFixed(1)}%)`}>
        {node.name}
      </div>
      {kids.length > 0 && (
        <div class="flame-row">
          {kids.map((c) => (
            <Frame key={c.name} node={c} total={node.value} depth={depth + 1} />
          ))}
        </div>
      )}
    </div>
  );
}

export function FlameGraph({ jid, vid, running }: { jid: string; vid: string; running: boolean }) {
  const [state, setState] = useState<{ busy: boolean; answer?: FlameAnswer; error?: string }>({
    busy: false,
  });
  const take = () => {
    setState({ busy: true });
    get<FlameAnswer>(`/jobs/${jid}/vertices/${vid}/flamegraph`).then(
      (answer) => setState({ busy: false, answer }),
      (e: unknown) => setState({ busy: false, error: e instanceof Error ? e.message : String(e) }),
    );
  };
  const graph = state.answer?.data;
  return (
    <section class="panel" data-testid="flame-graph">
      <h2>CPU flame graph</h2>
      <p>
        <button type="button" onClick={take} disabled={!running || state.busy}>
          {state.busy ? "Profiling…" : "Profile for 1 s"}
        </button>
      </p>
      {state.error !== undefined && <p class="muted">{state.error}</p>}
      {state.answer !== undefined && graph === null && <p class="muted">{state.answer.message}</p>}
      {graph !== undefined && graph !== null && graph.value > 0 && (
        <div class="flame">
          <Frame node={graph} total={graph.value} depth={0} />
        </div>
      )}
    </section>
  );
}

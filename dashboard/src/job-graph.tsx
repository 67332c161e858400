// The job graph: one box per vertex (chain), laid out left to right by dagre, coloured by the
// busiest subtask's time: red for backpressured, orange for busy, blue for idle (Flink's scheme).
// Each box shows parallelism, records/s in and out, and the vertex's input watermark.

import dagre from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import type { PlanNode, VertexSummary } from "./api.ts";
import { percent, rate, watermark } from "./format.ts";

/** What the graph shows of a vertex, aggregated over its subtasks. */
export interface VertexLoad {
  /** max over subtasks, ms/s */
  busy: number;
  backPressured: number;
  /** sums over subtasks */
  inPerSecond: number;
  outPerSecond: number;
  recordsIn: number;
  recordsOut: number;
  /** min over subtasks of the input watermark (a source: its output watermark) */
  watermark: number;
}

const WIDTH = 230;
const HEIGHT = 104;

/** Blend from white to `rgb` by `share` (0..1). */
function tint(rgb: [number, number, number], share: number): string {
  const s = Math.max(0, Math.min(1, share));
  const [r, g, b] = rgb.map((c) => Math.round(255 - (255 - c) * (0.15 + 0.85 * s)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** What dominates a vertex's time: more than 5% backpressured or busy, else idle. */
export function loadKind(load: VertexLoad | undefined): "unknown" | "backpressured" | "busy" | "idle" {
  if (load === undefined || !Number.isFinite(load.busy)) return "unknown";
  if (load.backPressured >= load.busy && load.backPressured > 50) return "backpressured";
  if (load.busy > 50) return "busy";
  return "idle";
}

export function vertexColour(load: VertexLoad | undefined): string {
  switch (loadKind(load)) {
    case "backpressured":
      return tint([220, 53, 69], load!.backPressured / 1000);
    case "busy":
      return tint([245, 140, 30], load!.busy / 1000);
    case "idle":
      return tint([90, 150, 230], 0.25);
    default:
      return "#eef1f5";
  }
}

interface Layout {
  width: number;
  height: number;
  nodes: Array<{ id: string; x: number; y: number }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }>; label: string }>;
}

function layout(vertices: VertexSummary[], plan: PlanNode[]): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 30, ranksep: 70, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const v of vertices) g.setNode(v.id, { width: WIDTH, height: HEIGHT });
  const labels = new Map<string, string>();
  for (const n of plan) {
    for (const input of n.inputs ?? []) {
      if (!g.hasNode(input.id) || !g.hasNode(n.id)) continue;
      g.setEdge(input.id, n.id, { width: 70, height: 14 });
      labels.set(`${input.id}->${n.id}`, input.ship_strategy);
    }
  }
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: graph.width ?? WIDTH,
    height: graph.height ?? HEIGHT,
    nodes: g.nodes().map((id) => {
      const n = g.node(id);
      return { id, x: n.x, y: n.y };
    }),
    edges: g.edges().map((e) => ({
      from: e.v,
      to: e.w,
      points: g.edge(e).points ?? [],
      label: labels.get(`${e.v}->${e.w}`) ?? "",
    })),
  };
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function JobGraph(props: {
  vertices: VertexSummary[];
  plan: PlanNode[];
  loads: Map<string, VertexLoad>;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const { vertices, plan, loads, selected, onSelect } = props;
  const shape = vertices.map((v) => v.id).join(",");
  const lay = useMemo(() => layout(vertices, plan), [shape, plan.length]);
  const byId = new Map(vertices.map((v) => [v.id, v]));
  return (
    <div class="graph-scroll">
      <svg
        class="job-graph"
        width={lay.width}
        height={lay.height}
        viewBox={`0 0 ${lay.width} ${lay.height}`}
        role="img"
        aria-label="job graph"
      >
        <title>Job graph</title>
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#7a8594" />
          </marker>
        </defs>
        {lay.edges.map((e) => {
          const d = e.points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x},${p.y}`).join(" ");
          const mid = e.points[Math.floor(e.points.length / 2)];
          return (
            <g key={`${e.from}-${e.to}`} class="edge">
              <path d={d} fill="none" stroke="#7a8594" stroke-width="1.5" marker-end="url(#arrow)" />
              {mid !== undefined && (
                <text x={mid.x} y={mid.y - 5} text-anchor="middle" class="edge-label">
                  {e.label}
                </text>
              )}
            </g>
          );
        })}
        {lay.nodes.map((n) => {
          const v = byId.get(n.id);
          if (v === undefined) return null;
          const load = loads.get(v.id);
          const x = n.x - WIDTH / 2;
          const y = n.y - HEIGHT / 2;
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
            <g
              key={v.id}
              class={`vertex${selected === v.id ? " selected" : ""}`}
              data-vertex-id={v.id}
              data-vertex-name={v.name}
              data-load={loadKind(load)}
              transform={`translate(${x},${y})`}
              role="button"
              tabIndex={0}
              onClick={() => onSelect(v.id)}
              onKeyDown={(e) => {
                if (e.key === "Enter" || e.key === " ") onSelect(v.id);
              }}
            >
              <title>{v.operators.map((o) => o.name).join(" → ")}</title>
              <rect
                width={WIDTH}
                height={HEIGHT}
                rx="6"
                fill={vertexColour(load)}
                class={`vertex-box status-${v.status.toLowerCase()}`}
              />
              <text x="10" y="19" class="vertex-name">
                {clip(v.name, 28)}
              </text>
              <text x="10" y="38" class="vertex-line">
                Parallelism: {v.parallelism} · {v.status}
              </text>
              <text x="10" y="56" class="vertex-line">
                In <tspan data-testid="vertex-in-rate">{rate(load?.inPerSecond ?? Number.NaN)}</tspan> · Out{" "}
                <tspan data-testid="vertex-out-rate">{rate(load?.outPerSecond ?? Number.NaN)}</tspan>
              </text>
              <text x="10" y="74" class="vertex-line">
                Records in{" "}
                <tspan data-testid="vertex-records-in">
                  {String(load?.recordsIn ?? v.metrics["read-records"])}
                </tspan>{" "}
                · out{" "}
                <tspan data-testid="vertex-records-out">
                  {String(load?.recordsOut ?? v.metrics["write-records"])}
                </tspan>
              </text>
              <text x="10" y="92" class="vertex-line">
                WM {watermark(load?.watermark ?? Number.NaN)} · busy {percent(load?.busy ?? Number.NaN)} · bp{" "}
                {percent(load?.backPressured ?? Number.NaN)}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

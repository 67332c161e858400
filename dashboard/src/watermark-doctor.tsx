// The watermark doctor's answer (`GET /jobs/:jid/watermarks/doctor`): every subtask whose watermark
// lags, the input or split holding it back, and why, in the server's own sentence.

import { duration, watermark } from "./format.ts";

export interface WatermarkFinding {
  vertexName: string;
  subtask: number;
  watermark: number | null;
  lagMs: number | null;
  pendingEventTimeTimers: number;
  cause?: string;
  message: string;
}

export interface WatermarkDiagnosis {
  frontier: number | null;
  findings: WatermarkFinding[];
}

const isDiagnosis = (d: unknown): d is WatermarkDiagnosis =>
  typeof d === "object" && d !== null && Array.isArray((d as WatermarkDiagnosis).findings);

export function WatermarkDoctor({ diagnosis }: { diagnosis: unknown }) {
  if (!isDiagnosis(diagnosis)) return null;
  const { frontier, findings } = diagnosis;
  return (
    <section class="panel" data-testid="watermark-doctor">
      <h2>Watermark doctor</h2>
      <p class="stats">
        <span>Furthest source watermark {frontier === null ? "none yet" : watermark(frontier)}</span>
        <span>
          {findings.length === 0 ? "No watermark lags behind it." : `${findings.length} lagging subtask(s)`}
        </span>
      </p>
      {findings.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Subtask</th>
              <th>Watermark</th>
              <th>Lag</th>
              <th>Timers waiting</th>
              <th>Cause</th>
              <th>Diagnosis</th>
            </tr>
          </thead>
          <tbody>
            {findings.slice(0, 20).map((f) => (
              <tr key={`${f.vertexName}/${f.subtask}`}>
                <td>
                  {f.vertexName} #{f.subtask}
                </td>
                <td>{f.watermark === null ? "none" : watermark(f.watermark)}</td>
                <td>{f.lagMs === null ? "unbounded" : duration(f.lagMs)}</td>
                <td>{f.pendingEventTimeTimers}</td>
                <td class="mono">{f.cause ?? "–"}</td>
                <td class="wrap">{f.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

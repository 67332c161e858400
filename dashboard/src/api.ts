// The REST API as the dashboard calls it: same-origin requests carrying the token when the server
// asks for one (taken once from `?token=` or the login form, kept in sessionStorage), and the
// shapes of Flink's answers that the pages read.

const TOKEN_KEY = "weir-rest-token";

/** The server answered 401: the page asks for the token. */
export class TokenRequiredError extends Error {
  constructor() {
    super("the REST server requires a token");
  }
}

/** Any other answer than 2xx, with the server's own error text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Move a `?token=` of the address into sessionStorage, and out of the address bar and history. */
export function adoptTokenFromUrl(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token === null) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** The REST API's base: the folder the dashboard was served from (the server's root). */
function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ""), new URL(".", window.location.href)).toString();
}

/** The answer's status and text; TokenRequiredError on a 401. */
async function send(method: string, path: string, body?: unknown): Promise<{ res: Response; text: string }> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null && token.length > 0) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(apiUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (res.status === 401) throw new TokenRequiredError();
  return { res, text: await res.text() };
}

/** A text answer (a TaskManager's log or stdout) as it is. */
export async function getText(path: string): Promise<string> {
  const { res, text } = await send("GET", path);
  if (!res.ok) throw new ApiError(res.status, `GET ${path}: HTTP ${res.status}`);
  return text;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const { res, text } = await send(method, path, body);
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const errors = (parsed as { errors?: unknown[] } | undefined)?.errors;
    const message = Array.isArray(errors) ? errors.join("; ") : `${method} ${path}: HTTP ${res.status}`;
    throw new ApiError(res.status, message);
  }
  return parsed as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);

export type JobState = "RUNNING" | "RESTARTING" | "FINISHED" | "FAILED" | "CANCELED" | "CANCELLING" | string;

export const isTerminal = (s: JobState): boolean => s === "FINISHED" || s === "FAILED" || s === "CANCELED";

export interface TaskCounts {
  total: number;
  running: number;
  finished: number;
  canceled: number;
  failed: number;
}

export interface JobSummary {
  jid: string;
  name: string;
  state: JobState;
  "start-time": number;
  "end-time": number;
  duration: number;
  tasks: TaskCounts;
}

export interface VertexSummary {
  id: string;
  name: string;
  parallelism: number;
  operators: Array<{ uid: string; name: string }>;
  status: string;
  metrics: { "read-records": number; "write-records": number; "read-bytes": number; "write-bytes": number };
  tasks: TaskCounts;
}

export interface PlanNode {
  id: string;
  parallelism: number;
  description: string;
  inputs?: Array<{ num: number; id: string; ship_strategy: string }>;
}

export interface JobDetails extends JobSummary {
  now: number;
  vertices: VertexSummary[];
  plan?: { nodes: PlanNode[] };
}

export interface SubtaskInfo {
  subtask: number;
  status: string;
  attempt: number;
  metrics: VertexSummary["metrics"];
  backPressureLevel: "ok" | "low" | "high";
}

export interface CheckpointEntry {
  id: number;
  status: string;
  is_savepoint: boolean;
  latest_ack_timestamp: number;
  end_to_end_duration: number;
  state_size: number;
  alignment_buffered?: number;
  checkpointed_size?: number;
  checkpoint_type?: string;
}

export interface Checkpoints {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  summary: {
    end_to_end_duration: { min: number; max: number; avg: number };
    state_size: { min: number; max: number; avg: number };
  };
  history: CheckpointEntry[];
}

export interface ExceptionEntry {
  exceptionName: string;
  message: string;
  stacktrace: string;
  timestamp: number;
  taskName: string | null;
  attempt: number;
}

export interface Exceptions {
  "root-exception": string | null;
  exceptionHistory: { entries: ExceptionEntry[] };
}

/** Per-subtask task metrics the job page reads for every vertex on every poll. */
export const SUBTASK_METRICS = [
  "numRecordsIn",
  "numRecordsOut",
  "numRecordsInPerSecond",
  "numRecordsOutPerSecond",
  "busyTimeMsPerSecond",
  "backPressuredTimeMsPerSecond",
  "idleTimeMsPerSecond",
  "currentInputWatermark",
  "currentOutputWatermark",
  "checkpointAlignmentTime",
  "checkpointStartDelayNanos",
] as const;
export type SubtaskMetricName = (typeof SUBTASK_METRICS)[number];
export type SubtaskMetrics = Record<SubtaskMetricName, number>;

/** `[{id: "0.numRecordsIn", value: "12"}]` of every subtask of a vertex, by subtask. */
export async function subtaskMetrics(
  jid: string,
  vid: string,
  parallelism: number,
): Promise<SubtaskMetrics[]> {
  const ids: string[] = [];
  for (let i = 0; i < parallelism; i++) for (const m of SUBTASK_METRICS) ids.push(`${i}.${m}`);
  const values = await get<Array<{ id: string; value: string }>>(
    `/jobs/${jid}/vertices/${vid}/metrics?get=${encodeURIComponent(ids.join(","))}`,
  );
  const out: SubtaskMetrics[] = [];
  for (let i = 0; i < parallelism; i++)
    out.push(Object.fromEntries(SUBTASK_METRICS.map((m) => [m, Number.NaN])) as SubtaskMetrics);
  for (const { id, value } of values) {
    const dot = id.indexOf(".");
    const row = out[Number(id.slice(0, dot))];
    if (row !== undefined) row[id.slice(dot + 1) as SubtaskMetricName] = Number(value);
  }
  return out;
}

/** A TaskManager as GET /taskmanagers and /taskmanagers/:id describe it (Flink's fields). */
export interface TaskManagerSummary {
  id: string;
  path: string;
  dataPort: number;
  timeSinceLastHeartbeat: number;
  slotsNumber: number;
  freeSlots: number;
  metrics?: { heapUsed: number; heapTotal: number; rss: number; workers: number };
}

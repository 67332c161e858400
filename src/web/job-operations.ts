// The REST API's mutating endpoints, in Flink's shapes: cancel (`PATCH /jobs/:jid?mode=cancel`),
// savepoints (`POST /jobs/:jid/savepoints`, polled at `GET /jobs/:jid/savepoints/:triggerid`) and
// stop-with-savepoint (`POST /jobs/:jid/stop`, polled at the same place). A savepoint is an
// asynchronous operation: the POST answers 202 with a request id at once, and the operation's
// outcome (location or failure cause) is kept for the GET.

import { randomBytes } from "node:crypto";
import type { RestAnswer } from "./rest-handlers.ts";

/** What the REST API may do to a running job (a ManagedJobClient has all of it). */
export interface JobControl {
  getStatus(): string;
  cancel(): Promise<void>;
  triggerSavepoint(targetDir?: string): Promise<string>;
  stopWithSavepoint(targetDir?: string): Promise<string>;
}

type Operation =
  | { state: "IN_PROGRESS" }
  | { state: "COMPLETED"; location: string }
  | { state: "FAILED"; error: Error };

/** Finished operations kept per job for their GET, oldest dropped first. */
const MAX_OPERATIONS = 100;

const error = (status: number, message: string): RestAnswer => ({ status, body: { errors: [message] } });

/** Savepoint and stop operations of every job, by job id and trigger id. */
export class JobOperations {
  private readonly byJob = new Map<string, Map<string, Operation>>();

  /**
   * Answer a request to a mutating route (or a savepoint's status); undefined when `parts` is no
   * such route. `control` is the job's, undefined when the job cannot be controlled from here.
   */
  answer(
    method: string,
    parts: readonly string[],
    query: URLSearchParams,
    body: unknown,
    jobId: string,
    control: JobControl | undefined,
  ): RestAnswer | undefined {
    if (parts.length === 2 && method === "PATCH") return this.cancel(query, jobId, control);
    if (parts.length === 3 && method === "POST" && parts[2] === "savepoints") {
      const b = objectBody(body);
      if (typeof b === "string") return error(400, b);
      const target = stringField(b, "target-directory");
      const cancelJob = b["cancel-job"];
      if (typeof target !== "string" && target !== undefined) return error(400, target.error);
      if (cancelJob !== undefined && typeof cancelJob !== "boolean") {
        return error(400, "'cancel-job' must be true or false");
      }
      return this.start(jobId, control, stringField(b, "triggerId"), (c) =>
        cancelJob === true ? c.stopWithSavepoint(target) : c.triggerSavepoint(target),
      );
    }
    if (parts.length === 3 && method === "POST" && parts[2] === "stop") {
      const b = objectBody(body);
      if (typeof b === "string") return error(400, b);
      const target = stringField(b, "targetDirectory");
      if (typeof target !== "string" && target !== undefined) return error(400, target.error);
      if (b.drain === true) {
        return error(
          400,
          "stop with 'drain': true (advancing the watermark to the end of time first) is not supported; stop without drain",
        );
      }
      return this.start(jobId, control, stringField(b, "triggerId"), (c) => c.stopWithSavepoint(target));
    }
    if (parts.length === 4 && method === "GET" && parts[2] === "savepoints") {
      return this.status(jobId, parts[3]!);
    }
    return undefined;
  }

  private cancel(query: URLSearchParams, jobId: string, control: JobControl | undefined): RestAnswer {
    const mode = query.get("mode") ?? "cancel";
    if (mode !== "cancel") {
      return error(400, `mode '${mode}' is not supported: PATCH /jobs/${jobId}?mode=cancel cancels the job`);
    }
    if (control === undefined) return error(405, `job ${jobId} cannot be cancelled through this server`);
    const status = control.getStatus();
    if (status !== "RUNNING")
      return error(409, `Job ${jobId} is ${status}: only a running job can be cancelled`);
    void control.cancel().catch(() => {}); // its outcome shows in the job's status
    return { status: 202, body: {} };
  }

  private start(
    jobId: string,
    control: JobControl | undefined,
    given: string | { error: string } | undefined,
    run: (c: JobControl) => Promise<string>,
  ): RestAnswer {
    if (typeof given === "object") return error(400, given.error);
    if (control === undefined) return error(405, `job ${jobId} cannot take a savepoint through this server`);
    const status = control.getStatus();
    if (status !== "RUNNING") return error(409, `Job ${jobId} is ${status}: a savepoint needs a running job`);
    const op = this.byJob.get(jobId) ?? new Map<string, Operation>();
    this.byJob.set(jobId, op);
    const triggerId = given ?? randomBytes(16).toString("hex");
    if (op.has(triggerId)) return error(409, `a savepoint with triggerId ${triggerId} was already requested`);
    op.set(triggerId, { state: "IN_PROGRESS" });
    run(control).then(
      (location) => op.set(triggerId, { state: "COMPLETED", location }),
      (e: unknown) =>
        op.set(triggerId, { state: "FAILED", error: e instanceof Error ? e : new Error(String(e)) }),
    );
    while (op.size > MAX_OPERATIONS) op.delete(op.keys().next().value as string);
    return { status: 202, body: { "request-id": triggerId } };
  }

  private status(jobId: string, triggerId: string): RestAnswer {
    const op = this.byJob.get(jobId)?.get(triggerId);
    if (op === undefined) {
      return error(404, `There is no savepoint operation with triggerId=${triggerId} for job ${jobId}`);
    }
    if (op.state === "IN_PROGRESS")
      return { status: 200, body: { status: { id: "IN_PROGRESS" }, operation: null } };
    if (op.state === "COMPLETED") {
      return { status: 200, body: { status: { id: "COMPLETED" }, operation: { location: op.location } } };
    }
    return {
      status: 200,
      body: {
        status: { id: "COMPLETED" },
        operation: {
          "failure-cause": {
            class: op.error.name,
            message: op.error.message,
            "stack-trace": op.error.stack ?? `${op.error.name}: ${op.error.message}`,
          },
        },
      },
    };
  }
}

/** The request's JSON object (an empty body is `{}`), or why it is not one. */
function objectBody(body: unknown): Record<string, unknown> | string {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "the request body must be a JSON object";
  }
  return body as Record<string, unknown>;
}

function stringField(b: Record<string, unknown>, name: string): string | { error: string } | undefined {
  const v = b[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length === 0) return { error: `'${name}' must be a non-empty string` };
  return v;
}

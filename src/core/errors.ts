// Typed errors: every error a user can cause carries a code and says what, where and what to do.

export type WeirErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_JOB"
  | "SERIALIZATION"
  | "USER_FUNCTION"
  | "JOB_FAILED"
  | "JOB_CANCELLED"
  | "CLI_USAGE"
  | "IO";

export class WeirError extends Error {
  readonly code: WeirErrorCode;

  constructor(code: WeirErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument passed to the API (parallelism 0, negative size, wrong type...). */
export class InvalidArgumentError extends WeirError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** A job graph that cannot run (no sinks, cycles, unknown module...). Raised before anything runs. */
export class InvalidJobError extends WeirError {
  constructor(message: string) {
    super("INVALID_JOB", message);
  }
}

/** A value that a serializer cannot write or a byte sequence it cannot read. */
export class SerializationError extends WeirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SERIALIZATION", message, options);
  }
}

/** Where a failure happened inside a running job. */
export interface FailureLocation {
  jobName: string;
  jobId: string;
  operatorName: string;
  operatorUid: string;
  subtaskIndex: number;
  parallelism: number;
}

/** A job that failed while running: names the job, operator and subtask; `cause` carries the user's error. */
export class JobExecutionError extends WeirError {
  readonly location: FailureLocation | undefined;
  /** The stack of the error thrown by user code (kept as text: it may have crossed a thread). */
  readonly userStack: string | undefined;

  constructor(message: string, location?: FailureLocation, userStack?: string, cause?: unknown) {
    super("JOB_FAILED", message, { cause });
    this.location = location;
    this.userStack = userStack;
  }
}

export class JobCancelledError extends WeirError {
  constructor(jobName: string) {
    super("JOB_CANCELLED", `job '${jobName}' was cancelled`);
  }
}

/** What was thrown, as a message: an Error's, a thrown object's `message`, else the value as text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  const message = typeof e === "object" && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof message === "string" ? message : String(e);
}

/** Builds the JobExecutionError of a failed task: names job, operator, uid and subtask; keeps the user's stack. */
export function jobFailure(
  jobName: string,
  jobId: string,
  f: {
    operatorName: string;
    operatorUid: string;
    subtaskIndex: number;
    parallelism: number;
    errorName: string;
    message: string;
    stack: string | undefined;
  },
): JobExecutionError {
  const cause = new Error(f.message);
  cause.name = f.errorName;
  if (f.stack !== undefined) cause.stack = f.stack;
  return new JobExecutionError(
    `job '${jobName}' failed: operator '${f.operatorName}' (uid ${f.operatorUid}), subtask ${f.subtaskIndex + 1}/${f.parallelism}: ${f.errorName}: ${f.message}${adviceFor(f.errorName, f.message)}`,
    { jobName, jobId, ...f },
    f.stack,
    cause,
  );
}

/** What to do about an error whose own message does not say it. */
function adviceFor(name: string, message: string): string {
  // V8's limit on one Map (2^24 entries): the heap backend keeps a keyed state of a subtask in one.
  if (name === "RangeError" && /Map maximum size exceeded/.test(message)) {
    return " (a JavaScript Map holds at most 16,777,216 entries: with the heap state backend, one keyed state of one subtask holds at most that many keys; raise the parallelism, or use the embedded state backend, which keeps state on disk)";
  }
  return "";
}

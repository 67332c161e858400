// Attributes an error thrown inside a chain to the operator it came from.

export interface OperatorInfo {
  readonly name: string;
  readonly uid: string;
}

export class OperatorFailure extends Error {
  constructor(
    readonly operator: OperatorInfo,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

export function attribute(e: unknown, operator: OperatorInfo): OperatorFailure {
  return e instanceof OperatorFailure ? e : new OperatorFailure(operator, e);
}

/** A task failure as plain data (it may cross threads). */
export interface FailureInfo {
  operatorName: string;
  operatorUid: string;
  subtaskIndex: number;
  parallelism: number;
  errorName: string;
  message: string;
  stack: string | undefined;
  /** A WeirError code when the error was one of ours (serialization, invalid argument...). */
  code: string | undefined;
}

export function describeFailure(
  error: unknown,
  fallback: OperatorInfo,
  subtaskIndex: number,
  parallelism: number,
): FailureInfo {
  const op = error instanceof OperatorFailure ? error.operator : fallback;
  const cause = error instanceof OperatorFailure ? error.error : error;
  const e = cause instanceof Error ? cause : undefined;
  return {
    operatorName: op.name,
    operatorUid: op.uid,
    subtaskIndex,
    parallelism,
    errorName: e?.name ?? "Error",
    message: e?.message ?? String(cause),
    stack: e?.stack,
    code:
      typeof (cause as { code?: unknown })?.code === "string" ? (cause as { code: string }).code : undefined,
  };
}

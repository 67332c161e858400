// The error a test harness raises when it is used out of order or fed what the operator could
// never receive in a job (a key of another subtask, a snapshot of another operator).

import { WeirError } from "../core/errors.ts";

/** A harness used wrongly: the message says what, on which harness, and what to do instead. */
export class HarnessError extends WeirError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

// The message of a failed task names job, operator, uid and subtask, then the error; an error
// whose own message does not say what to do gets advice (V8's Map size limit, which the heap
// state backend reaches at 2^24 keys of one state in one subtask).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorMessage, jobFailure } from "../../src/core/errors.ts";

const failure = (errorName: string, message: string) =>
  jobFailure("orders", "job-1", {
    operatorName: "Totals",
    operatorUid: "totals",
    subtaskIndex: 1,
    parallelism: 4,
    errorName,
    message,
    stack: undefined,
  });

describe("a failed task's message", () => {
  it("names the job, operator, uid, subtask and the error", () => {
    const e = failure("TypeError", "x is not a function");
    assert.equal(
      e.message,
      "job 'orders' failed: operator 'Totals' (uid totals), subtask 2/4: TypeError: x is not a function",
    );
    assert.equal(e.location?.operatorUid, "totals");
  });

  it("says what to do when a keyed state outgrew a JavaScript Map", () => {
    const e = failure("RangeError", "Map maximum size exceeded");
    assert.match(
      e.message,
      /subtask 2\/4: RangeError: Map maximum size exceeded \(a JavaScript Map holds at most 16,777,216 entries/,
    );
    assert.match(e.message, /raise the parallelism, or use the embedded state backend/);
  });

  it("adds nothing to other range errors", () => {
    assert.ok(
      failure("RangeError", "Invalid array length").message.endsWith("RangeError: Invalid array length"),
    );
  });
});

describe("errorMessage", () => {
  it("is an Error's message, a thrown object's message, and anything else as a string", () => {
    assert.equal(errorMessage(new RangeError("too far")), "too far");
    assert.equal(errorMessage("a thrown string"), "a thrown string");
    assert.equal(errorMessage(42), "42");
    assert.equal(errorMessage(undefined), "undefined");
    // Some libraries throw plain objects: their message, not "[object Object]".
    assert.equal(errorMessage({ message: "an object with a message", code: 7 }), "an object with a message");
    assert.equal(errorMessage({ code: 7 }), "[object Object]");
    assert.equal(errorMessage(null), "null");
  });
});

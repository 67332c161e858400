// Cancel and savepoint buttons: Flink's `PATCH /jobs/:jid?mode=cancel` and
// `POST /jobs/:jid/savepoints`, whose trigger id is then polled until the savepoint completes.

import { useState } from "preact/hooks";
import { request } from "./api.ts";

interface SavepointStatus {
  status: { id: "IN_PROGRESS" | "COMPLETED" };
  operation?: { location?: string; "failure-cause"?: { class?: string; "stack-trace"?: string } };
}

async function savepoint(jid: string, targetDirectory: string): Promise<string> {
  // Without a directory, the job's configured savepoint directory is used.
  const body =
    targetDirectory.length > 0
      ? { "target-directory": targetDirectory, "cancel-job": false }
      : { "cancel-job": false };
  const { "request-id": id } = await request<{ "request-id": string }>(
    "POST",
    `/jobs/${jid}/savepoints`,
    body,
  );
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    const s = await request<SavepointStatus>("GET", `/jobs/${jid}/savepoints/${id}`);
    if (s.status.id === "COMPLETED") {
      const failure = s.operation?.["failure-cause"];
      if (failure !== undefined)
        throw new Error(failure["stack-trace"] ?? failure.class ?? "the savepoint failed");
      return s.operation?.location ?? "(no location given)";
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("the savepoint did not complete within 10 minutes");
}

export function JobActions({ jid, running }: { jid: string; running: boolean }) {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [dir, setDir] = useState("");
  const act = async (what: string, f: () => Promise<string>) => {
    setBusy(what);
    setMessage(undefined);
    try {
      setMessage({ ok: true, text: await f() });
    } catch (e) {
      setMessage({ ok: false, text: `${what} failed: ${e instanceof Error ? e.message : String(e)}` });
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div class="actions">
      <input
        type="text"
        class="savepoint-dir"
        placeholder="savepoint directory (default: the job's)"
        value={dir}
        disabled={!running || busy !== undefined}
        onInput={(e) => setDir((e.target as HTMLInputElement).value)}
      />
      <button
        type="button"
        data-testid="savepoint"
        disabled={!running || busy !== undefined}
        onClick={() =>
          act("Savepoint", async () => `Savepoint written to ${await savepoint(jid, dir.trim())}`)
        }
      >
        {busy === "Savepoint" ? "Taking savepoint…" : "Trigger savepoint"}
      </button>
      <button
        type="button"
        class="danger"
        data-testid="cancel"
        disabled={!running || busy !== undefined}
        onClick={() => {
          if (!window.confirm("Cancel this job? Its tasks stop now.")) return;
          void act("Cancel", async () => {
            await request("PATCH", `/jobs/${jid}?mode=cancel`);
            return "Cancellation requested.";
          });
        }}
      >
        {busy === "Cancel" ? "Cancelling…" : "Cancel job"}
      </button>
      {message !== undefined && (
        <span class={message.ok ? "action-ok" : "action-error"} data-testid="action-message">
          {message.text}
        </span>
      )}
    </div>
  );
}

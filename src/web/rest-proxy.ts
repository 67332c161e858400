// Forwarding a REST request to another server as it came (a standby JobManager answering through
// the leader's REST API): method, path, headers (the token among them) and body streamed there,
// the answer streamed back. A request that cannot reach the leader gets 503 with Retry-After (the
// client may try again: nothing was done); one whose connection broke after it was sent gets 502
// (it may have been acted on). A forwarded request carries a header, so that a server that is not
// the leader either never forwards it again (no loops while leadership moves).

import { type IncomingMessage, type ServerResponse, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** Marks a request a server forwarded. */
export const FORWARDED_HEADER = "x-weir-forwarded-by";

/** Seconds a client is asked to wait (Retry-After) when no leader answers. */
export const RETRY_AFTER_SECONDS = 1;

/** How long a forwarded request may take (a flame graph samples for up to 10 s). */
const FORWARD_TIMEOUT_MS = 120_000;

/** Headers that describe one hop's connection, not the request. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "te",
  "trailer",
]);

/** TLS material for https targets: the CA that signed the target's certificate, and ours. */
export interface ForwardTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Answer 503 with Retry-After: no leader to forward to right now. */
export function unavailable(res: ServerResponse, why: string): void {
  res.writeHead(503, {
    "content-type": "application/json; charset=utf-8",
    "retry-after": String(RETRY_AFTER_SECONDS),
  });
  res.end(JSON.stringify({ errors: [why] }));
}

/** Forward `req` to the server at `target` (its base URL) as `by`; resolves once answered. */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  by: string,
  tls?: ForwardTls,
): Promise<void> {
  const url = new URL(req.url ?? "/", target);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  }
  headers[FORWARDED_HEADER] = by;
  return new Promise((resolve) => {
    let sent = false;
    const options = { method: req.method, headers, timeout: FORWARD_TIMEOUT_MS };
    const out =
      url.protocol === "https:"
        ? httpsRequest(url, { ...options, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : httpRequest(url, options);
    out.on("response", (answer) => {
      const back: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(answer.headers)) {
        if (v !== undefined && !HOP_BY_HOP.has(k)) back[k] = v;
      }
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
      answer.on("end", () => resolve());
      answer.on("error", () => {
        res.destroy();
        resolve();
      });
    });
    out.on("timeout", () => out.destroy(new Error(`no answer within ${FORWARD_TIMEOUT_MS / 1000} s`)));
    out.on("error", (e: NodeJS.ErrnoException) => {
      if (res.headersSent) res.destroy();
      else if (!sent || e.code === "ECONNREFUSED" || e.code === "EHOSTUNREACH" || e.code === "ENOTFOUND") {
        unavailable(
          res,
          `the leading JobManager's REST API at ${target} cannot be reached (${e.code ?? e.message}); retry`,
        );
      } else {
        res.writeHead(502, { "content-type": "application/json; charset=utf-8" });
        res.end(
          JSON.stringify({
            errors: [`the leading JobManager's REST API at ${target} broke off the request: ${e.message}`],
          }),
        );
      }
      resolve();
    });
    // Once connected (a kept-alive socket is already), the request may reach the leader.
    out.on("socket", (socket) => {
      if (!socket.connecting) sent = true;
      else
        socket.once("connect", () => {
          sent = true;
        });
    });
    req.pipe(out);
  });
}

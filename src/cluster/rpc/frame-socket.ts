// Framed messages over TCP for the cluster's RPC (JobManager, TaskManagers, clients): each frame is
// a u32 length and a v8-serialized value. The first frame from the dialling side is a hello that
// carries the cluster token; a listener that gets a wrong one answers "refused" and closes. The
// token is compared in constant time and never written to a log or an error. With TLS
// (src/cluster/rpc/cluster-tls.ts) the same frames travel inside a TLS connection, and a listener
// also refuses a TaskManager whose certificate the cluster's CA did not sign.

import { createHash, timingSafeEqual } from "node:crypto";
import { type Server, type Socket, connect, createServer } from "node:net";
import { type TLSSocket, connect as connectTls, createServer as createTlsServer } from "node:tls";
import { deserialize, serialize } from "node:v8";
import { WeirError } from "../../core/errors.ts";
import {
  type ClusterTls,
  clientTlsOptions,
  isUntrustedCertificate,
  serverTlsOptions,
} from "./cluster-tls.ts";

/** What the dialling side says first. */
export interface Hello {
  t: "hello";
  role: "taskmanager" | "client" | "data";
  token: string;
  /** The TaskManager's id (roles taskmanager and data). */
  id?: string;
}

/** A connection or a listener of the cluster failed (refused, closed, address in use). */
export class ClusterConnectionError extends WeirError {
  /** `permanent`: trying again will not help (refused, or a certificate not trusted). */
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super("IO", message);
  }
}

/** Frames larger than this are refused: a corrupt length must not allocate gigabytes. */
const MAX_FRAME = 256 * 1024 * 1024;

export class FrameSocket {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Frames that arrived while no handler was set (between the hello's answer and the owner's handler). */
  private queued: unknown[] = [];
  private onFrameFn: ((m: unknown) => void) | undefined;
  private rawFn: ((frame: Buffer) => void) | undefined;
  private heldRaw: Buffer[] | undefined;
  private closed = false;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private closeReason = "the connection closed";

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (e) => {
      this.closeReason = `connection error: ${e.message}`;
    });
    socket.on("close", () => {
      this.closed = true;
      for (const l of this.closeListeners) l(this.closeReason);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Hand every frame to `f` (the frames queued while no handler was set first); undefined queues them. */
  onFrame(f: ((m: unknown) => void) | undefined): void {
    this.onFrameFn = f;
    while (f !== undefined && this.queued.length > 0 && this.onFrameFn === f) f(this.queued.shift());
  }

  /**
   * From now on hand each frame's bytes to `f` undecoded (the data plane's binary frames; valid
   * only during the call).
   */
  onRaw(f: (frame: Buffer) => void): void {
    this.rawFn = f;
    const held = this.heldRaw;
    this.heldRaw = undefined;
    for (const frame of held ?? []) f(frame);
  }

  /** Keep binary frames until onRaw sets a handler. */
  holdRaw(): void {
    const held: Buffer[] = [];
    this.rawFn = (frame) => held.push(Buffer.from(frame));
    this.heldRaw = held;
  }

  /** Send a frame that already starts with its u32 length. */
  sendRaw(frame: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(frame);
  }

  onClose(f: (reason: string) => void): void {
    if (this.closed) f(this.closeReason);
    else this.closeListeners.push(f);
  }

  send(m: unknown): void {
    if (this.closed || this.socket.destroyed) return;
    const body = serialize(m);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(body);
    this.socket.uncork();
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const len = buf.readUInt32BE(0);
      if (len > MAX_FRAME) {
        this.closeReason = `a frame of ${len} bytes is too large: not a Weir peer`;
        this.socket.destroy();
        return;
      }
      if (buf.length < 4 + len) {
        this.pending = [buf];
        return;
      }
      const body = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      this.pending = buf.length > 0 ? [buf] : [];
      this.pendingBytes = buf.length;
      if (this.rawFn !== undefined) {
        this.rawFn(body);
        if (this.socket.destroyed) return;
        continue;
      }
      let m: unknown;
      try {
        m = deserialize(body);
      } catch {
        this.closeReason = "a frame could not be read: not a Weir peer";
        this.socket.destroy();
        return;
      }
      if (this.onFrameFn === undefined) this.queued.push(m);
      else this.onFrameFn(m);
      if (this.socket.destroyed) return;
    }
  }
}

/** Why a TLS peer's certificate is not good enough for an internal connection; undefined when it is. */
function peerCertificateProblem(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (tls.authorized) return undefined;
  const presented = Object.keys(tls.getPeerCertificate?.() ?? {}).length > 0;
  return presented
    ? `the TaskManager's TLS certificate is not signed by the cluster's CA (${String(tls.authorizationError)})`
    : "the TaskManager presented no TLS certificate";
}

export function tokensEqual(given: string, expected: string): boolean {
  // Hashes of equal length: the comparison takes the same time whatever the token's length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Dial `host:port` (over TLS when `tls` is given), say hello, and resolve once the listener has accepted it. */
export function dial(
  host: string,
  port: number,
  hello: Omit<Hello, "t">,
  timeoutMs = 10_000,
  /** Binary frames after the hello (FrameSocket.onRaw): the first ones are kept until a handler is set. */
  raw = false,
  tls?: ClusterTls,
): Promise<FrameSocket> {
  return new Promise((resolve, reject) => {
    const socket =
      tls === undefined
        ? connect({ host, port })
        : connectTls({ host, port, ...clientTlsOptions(tls, host, hello.role === "client") });
    const fs = new FrameSocket(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClusterConnectionError(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    let settled = false;
    const fail = (e: ClusterConnectionError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once(tls === undefined ? "connect" : "secureConnect", () =>
      fs.send({ t: "hello", ...hello } satisfies Hello),
    );
    fs.onFrame((m) => {
      if (settled) return;
      const answer = m as { t: string; reason?: string };
      if (answer.t === "welcome") {
        settled = true;
        clearTimeout(timer);
        fs.onFrame(undefined);
        if (raw) fs.holdRaw();
        resolve(fs);
      } else {
        fail(
          new ClusterConnectionError(
            `${host}:${port} refused the connection: ${answer.reason ?? "no reason given"}`,
            true,
          ),
        );
      }
    });
    const hint =
      tls === undefined
        ? "is the JobManager (or TaskManager) running there? If the cluster uses TLS, pass --tls-ca"
        : "is the JobManager (or TaskManager) running there, with TLS (--tls-cert)?";
    fs.onClose((reason) =>
      fail(new ClusterConnectionError(`cannot connect to ${host}:${port}: ${reason}; ${hint}`)),
    );
    socket.once("error", (e: NodeJS.ErrnoException) => {
      if (tls !== undefined && isUntrustedCertificate(e)) {
        fail(
          new ClusterConnectionError(
            `cannot connect to ${host}:${port} over TLS: its certificate is not trusted (${e.message}); pass the CA that signed the cluster's certificates with --tls-ca, and a certificate that names the host you dial`,
            true,
          ),
        );
      } else fail(new ClusterConnectionError(`cannot connect to ${host}:${port}: ${e.message}; ${hint}`));
    });
  });
}

export interface FrameServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listen on `address:port`; every connection must open with a hello carrying `token` (any hello
 * when the token is empty, which only a loopback address allows). Accepted connections go to `accept`.
 */
export async function listenFrames(
  address: string,
  port: number,
  token: string,
  accept: (socket: FrameSocket, hello: Hello) => void,
  onRefused: (remote: string, why: string) => void = () => {},
  /** Serve TLS: TaskManagers (roles taskmanager and data) must present a certificate of the CA. */
  tls?: ClusterTls,
): Promise<FrameServer> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    const fs = new FrameSocket(socket);
    const timer = setTimeout(() => socket.destroy(), 10_000);
    fs.onFrame((m) => {
      clearTimeout(timer);
      const hello = m as Partial<Hello>;
      if (hello?.t !== "hello" || typeof hello.token !== "string") {
        onRefused(fs.remote, "no hello");
        fs.send({ t: "refused", reason: "the first message must be a hello" });
        fs.close();
        return;
      }
      if (token.length > 0 && !tokensEqual(hello.token, token)) {
        onRefused(fs.remote, "wrong token");
        fs.send({ t: "refused", reason: "wrong cluster token" });
        fs.close();
        return;
      }
      const problem =
        tls === undefined || hello.role === "client" ? undefined : peerCertificateProblem(socket);
      if (problem !== undefined) {
        onRefused(fs.remote, problem);
        fs.send({
          t: "refused",
          reason: `${problem}; give every TaskManager --tls-cert and --tls-key of a certificate the cluster's CA signed`,
        });
        fs.close();
        return;
      }
      fs.onFrame(undefined);
      fs.send({ t: "welcome" });
      accept(fs, hello as Hello);
    });
  };
  const server =
    tls === undefined
      ? createServer(onSocket)
      : createTlsServer({ ...serverTlsOptions(tls), handshakeTimeout: 10_000 }, onSocket).on(
          "tlsClientError",
          (e: Error, socket: TLSSocket) =>
            onRefused(
              `${socket.remoteAddress}:${socket.remotePort}`,
              `TLS handshake failed (${e.message}): a peer without TLS, or one that does not trust this certificate`,
            ),
        );
  // Every connection, also one still in its TLS handshake, is ended by close().
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new ClusterConnectionError(
          e.code === "EADDRINUSE"
            ? `port ${port} on ${address} is in use; pick another port (0 picks a free one)`
            : `cannot listen on ${address}:${port}: ${e.message}`,
        ),
      ),
    );
    server.listen(port, address, () => resolve());
  });
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

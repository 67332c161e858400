// The data plane between TaskManagers: a worker's channels to a slot on another TaskManager run
// over a local MessageChannel whose far end this relay pumps over TCP, one connection per pair of
// TaskManagers, every channel of every deployment multiplexed on it. A buffer's bytes cross as a
// binary frame; the credit comes back as a small frame, and the relay hands the producer its own
// buffer memory back with it, so the producer's pool and credits work as between threads. A
// connection that cannot be made, or that breaks while deployments use it, fails those
// deployments at once (the owner reports it; the JobManager fails the attempt over) instead of
// leaving their channels silent until a checkpoint times out.
//
// Frame: [u32 length][u8 type][u32 deployment][u16 from slot][u16 to slot][u32 channel] then
//   DATA:   [u8 buffer kind][payload]
//   EVENT:  [u8 buffer kind][f64 checkpoint id][u8 flags: 1 unaligned, 2 aligned-only]
//           [f64 trigger time: ms since the epoch, 0 unknown (a barrier's checkpointStartDelayNanos)]
//   CREDIT: nothing

import { MessageChannel, type MessagePort } from "node:worker_threads";
import { BufferKind } from "../../network/buffer.ts";
import type { ClusterTls } from "../rpc/cluster-tls.ts";
import { type FrameSocket, dial } from "../rpc/frame-socket.ts";
import type { SlotPlacement } from "../rpc/messages.ts";

const DATA = 1;
const EVENT = 2;
const CREDIT = 3;
const HEADER = 1 + 4 + 2 + 2 + 4;

/** What a worker's port carries (src/network/remote-channel.ts). */
interface PortMessage {
  c: number;
  k?: BufferKind;
  s?: number;
  m?: ArrayBuffer;
  b?: number;
  u?: boolean;
  a?: boolean;
  r?: ArrayBuffer;
  t?: number;
}

interface Link {
  port: MessagePort;
  peer: string;
  /** Buffer memory the local producer sent, by channel: handed back with the credits. */
  returned: Map<number, ArrayBuffer[]>;
}

interface Peer {
  socket: FrameSocket | undefined;
  queued: Buffer[];
}

export class DataExchange {
  private readonly links = new Map<string, Link>();
  private readonly peers = new Map<string, Peer>();

  constructor(
    private readonly selfId: string,
    private readonly token: string,
    private readonly log: (line: string) => void,
    /** The connection to TaskManager `peer` failed or broke while these deployments had channels on it. */
    private readonly broken: (deployments: number[], peer: string, why: string) => void = () => {},
    /** Dial other TaskManagers over TLS (their data ports serve it). */
    private readonly tls?: ClusterTls,
  ) {}

  /** An accepted data connection from TaskManager `id`. */
  accept(id: string, socket: FrameSocket): void {
    this.attach(id, socket);
  }

  /**
   * The port a worker of `deployment` in slot `from` uses towards slot `to` on another TaskManager;
   * its far end is relayed to the peer.
   */
  open(deployment: number, from: number, to: number, peer: SlotPlacement): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const link: Link = { port: port2, peer: peer.tm, returned: new Map() };
    this.links.set(key(deployment, from, to), link);
    port2.on("message", (msg: PortMessage) => this.fromWorker(deployment, from, to, link, msg));
    this.connect(peer);
    return port1;
  }

  /** Forget the links of a deployment that ended (late frames for it are dropped). */
  close(deployment: number): void {
    for (const [k, link] of this.links) {
      if (k.startsWith(`${deployment}/`)) {
        link.port.close();
        this.links.delete(k);
      }
    }
    // A peer that never connected (it died first) is forgotten with the last link to it: a
    // TaskManager of the same id that registers later gets a fresh connection.
    const used = new Set([...this.links.values()].map((l) => l.peer));
    for (const [id, peer] of this.peers)
      if (peer.socket === undefined && !used.has(id)) this.peers.delete(id);
  }

  shutdown(): void {
    for (const link of this.links.values()) link.port.close();
    this.links.clear();
    for (const p of this.peers.values()) p.socket?.destroy();
    this.peers.clear();
  }

  private fromWorker(deployment: number, from: number, to: number, link: Link, msg: PortMessage): void {
    let frame: Buffer;
    if (msg.r !== undefined) {
      frame = header(CREDIT, deployment, from, to, msg.c, 0);
    } else if (msg.m !== undefined) {
      const size = msg.s ?? 0;
      frame = header(DATA, deployment, from, to, msg.c, 1 + size);
      frame.writeUInt8(msg.k ?? BufferKind.DATA, 4 + HEADER);
      frame.set(new Uint8Array(msg.m, 0, size), 4 + HEADER + 1);
      const list = link.returned.get(msg.c) ?? [];
      list.push(msg.m);
      link.returned.set(msg.c, list);
    } else {
      frame = header(EVENT, deployment, from, to, msg.c, 1 + 8 + 1 + 8);
      let o = 4 + HEADER;
      frame.writeUInt8(msg.k ?? 0, o++);
      frame.writeDoubleBE(msg.b ?? 0, o);
      o += 8;
      frame.writeUInt8((msg.u === true ? 1 : 0) | (msg.a === true ? 2 : 0), o++);
      frame.writeDoubleBE(msg.t ?? 0, o);
    }
    this.sendTo(link.peer, frame);
  }

  private fromPeer(frame: Buffer): void {
    const type = frame.readUInt8(0);
    const deployment = frame.readUInt32BE(1);
    const from = frame.readUInt16BE(5);
    const to = frame.readUInt16BE(7);
    const c = frame.readUInt32BE(9);
    // Their "from" is our "to": the link is named from this side.
    const link = this.links.get(key(deployment, to, from));
    if (link === undefined) return; // a deployment that ended here
    if (type === CREDIT) {
      const memory = link.returned.get(c)?.shift();
      if (memory === undefined) {
        this.log(`data exchange: a credit for channel ${c} without a buffer sent on it; dropped`);
        return;
      }
      link.port.postMessage({ c, r: memory }, [memory]);
    } else if (type === DATA) {
      const k = frame.readUInt8(HEADER) as BufferKind;
      const payload = frame.subarray(HEADER + 1);
      const memory = new ArrayBuffer(payload.length);
      new Uint8Array(memory).set(payload);
      link.port.postMessage({ c, k, s: payload.length, m: memory }, [memory]);
    } else if (type === EVENT) {
      const k = frame.readUInt8(HEADER) as BufferKind;
      const b = frame.readDoubleBE(HEADER + 1);
      const flags = frame.readUInt8(HEADER + 9);
      const t = frame.readDoubleBE(HEADER + 10);
      link.port.postMessage({ c, k, s: 0, m: undefined, b, u: (flags & 1) !== 0, a: (flags & 2) !== 0, t });
    }
  }

  private connect(peer: SlotPlacement): void {
    if (this.peers.has(peer.tm)) return;
    this.peers.set(peer.tm, { socket: undefined, queued: [] });
    // One connection per pair: the TaskManager whose id sorts first dials, the other waits for it.
    if (this.selfId > peer.tm) return;
    dial(
      peer.dataHost,
      peer.dataPort,
      { role: "data", token: this.token, id: this.selfId },
      10_000,
      true,
      this.tls,
    ).then(
      (socket) => this.attach(peer.tm, socket),
      (e: Error) => {
        this.log(`data exchange: cannot connect to TaskManager ${peer.tm}: ${e.message}`);
        this.peers.delete(peer.tm);
        this.fail(
          peer.tm,
          `cannot connect to TaskManager ${peer.tm} at ${peer.dataHost}:${peer.dataPort}: ${e.message}`,
        );
      },
    );
  }

  /** Tell the owner which deployments had channels to `peer` (their data is lost with it). */
  private fail(peer: string, why: string): void {
    const deployments = new Set<number>();
    for (const [k, link] of this.links) if (link.peer === peer) deployments.add(Number(k.split("/")[0]));
    if (deployments.size > 0) this.broken([...deployments], peer, why);
  }

  private attach(id: string, socket: FrameSocket): void {
    const peer = this.peers.get(id) ?? { socket: undefined, queued: [] };
    this.peers.set(id, peer);
    peer.socket = socket;
    socket.onRaw((frame) => this.fromPeer(frame));
    socket.onClose((reason) => {
      if (this.peers.get(id)?.socket !== socket) return;
      this.peers.delete(id);
      this.fail(id, `the data connection to TaskManager ${id} broke (${reason})`);
    });
    for (const f of peer.queued) socket.sendRaw(f);
    peer.queued = [];
  }

  private sendTo(id: string, frame: Buffer): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return; // the peer is gone: the attempt fails over anyway
    if (peer.socket === undefined) peer.queued.push(frame);
    else peer.socket.sendRaw(frame);
  }
}

function key(deployment: number, from: number, to: number): string {
  return `${deployment}/${from}/${to}`;
}

/** A frame with its length prefix and header, `extra` bytes after the header left to fill. */
function header(
  type: number,
  deployment: number,
  from: number,
  to: number,
  channel: number,
  extra: number,
): Buffer {
  const frame = Buffer.allocUnsafe(4 + HEADER + extra);
  frame.writeUInt32BE(HEADER + extra, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt32BE(deployment, 5);
  frame.writeUInt16BE(from, 9);
  frame.writeUInt16BE(to, 11);
  frame.writeUInt32BE(channel, 13);
  return frame;
}

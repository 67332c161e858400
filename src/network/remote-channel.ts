// Channels between threads: buffers travel as transferred ArrayBuffers over a MessagePort (no
// copy), and come back the same way with the credit once the consumer has read them. One port
// per pair of threads carries every channel between them, tagged by channel id.

import type { MessagePort } from "node:worker_threads";
import { BufferKind, NetworkBuffer } from "./buffer.ts";
import type { BufferReceiver, BufferReturner } from "./channel.ts";

interface DataMessage {
  c: number;
  k: BufferKind;
  s: number;
  m: ArrayBuffer | undefined;
  /** checkpoint id of a barrier */
  b?: number;
  /** an unaligned barrier */
  u?: boolean;
  /** a barrier of a checkpoint that must be aligned (savepoint) */
  a?: boolean;
  /** a barrier's trigger time (ms since the epoch) */
  t?: number;
}
interface CreditMessage {
  c: number;
  r: ArrayBuffer;
}
type ChannelMessage = DataMessage | CreditMessage;

export class RemoteSender implements BufferReceiver {
  constructor(
    private readonly port: MessagePort,
    private readonly channelId: number,
  ) {}
  deliver(buffer: NetworkBuffer): void {
    if (buffer.kind === BufferKind.DATA) {
      const ab = buffer.memory.buffer as ArrayBuffer;
      const msg: DataMessage = { c: this.channelId, k: buffer.kind, s: buffer.size, m: ab };
      this.port.postMessage(msg, [ab]);
    } else {
      const msg: DataMessage = {
        c: this.channelId,
        k: buffer.kind,
        s: 0,
        m: undefined,
        b: buffer.checkpointId,
        u: buffer.unaligned,
        a: buffer.alignedOnly,
        t: buffer.triggerTime,
      };
      this.port.postMessage(msg);
    }
  }
}

export class RemoteReturner implements BufferReturner {
  constructor(
    private readonly port: MessagePort,
    private readonly channelId: number,
  ) {}
  giveBack(buffer: NetworkBuffer): void {
    const ab = buffer.memory.buffer as ArrayBuffer;
    const msg: CreditMessage = { c: this.channelId, r: ab };
    this.port.postMessage(msg, [ab]);
  }
}

/**
 * Dispatches messages arriving on this thread's ports to the local ends of channels. The ports stay
 * open until the thread ends (the coordinator ends it: closing them earlier could drop buffers still
 * on their way, see task-worker.ts).
 */
export class ChannelRouter {
  private readonly inputs = new Map<number, BufferReceiver>();
  private readonly outputs = new Map<number, BufferReturner>();

  registerInput(channelId: number, receiver: BufferReceiver): void {
    this.inputs.set(channelId, receiver);
  }

  registerOutput(channelId: number, returner: BufferReturner): void {
    this.outputs.set(channelId, returner);
  }

  attach(port: MessagePort): void {
    port.on("message", (msg: ChannelMessage) => {
      if ("r" in msg) {
        this.outputs.get(msg.c)?.giveBack(new NetworkBuffer(new Uint8Array(msg.r), 0, BufferKind.DATA));
      } else {
        const mem = msg.m === undefined ? new Uint8Array(0) : new Uint8Array(msg.m);
        this.inputs
          .get(msg.c)
          ?.deliver(
            new NetworkBuffer(
              mem,
              msg.s,
              msg.k,
              msg.b ?? 0,
              msg.u ?? false,
              false,
              msg.a ?? false,
              msg.t ?? 0,
            ),
          );
      }
    });
  }
}

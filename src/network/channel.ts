// A channel connects one producer subpartition to one consumer input channel, in one thread or
// across two. Credit-based flow control: the consumer grants `credits` buffers up front; the
// producer sends a data buffer only with a credit; the consumer hands the buffer back (with its
// memory, when it crossed threads) once it has read it, which returns the credit.

import type { NetworkBuffer } from "./buffer.ts";

/** The consumer end of a channel, as the producer sees it. */
export interface BufferReceiver {
  deliver(buffer: NetworkBuffer): void;
}

/** The producer end of a channel, as the consumer sees it. */
export interface BufferReturner {
  giveBack(buffer: NetworkBuffer): void;
}

/** Something that runs when a channel has news (data for a consumer, credit for a producer). */
export type Wakeup = () => void;

/** Initial credits per channel (Flink's exclusive buffers per channel, plus floating ones). */
export const DEFAULT_CREDITS_PER_CHANNEL = 4;

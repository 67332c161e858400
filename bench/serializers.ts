// Serializer throughput on Nexmark-like Bid records: Types.OBJECT (codegen) and GENERIC next to JSON.
// Run: node --import tsx bench/serializers.ts [records=1000000]

import { DataInputDeserializer, DataOutputSerializer } from "../src/core/data-io.ts";
import { Types } from "../src/core/types/index.ts";
import type { TypeSerializer } from "../src/core/types/index.ts";

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

const N = Number(process.argv[2] ?? 1_000_000);
const DISTINCT = 1024;
const CHUNK = 1000; // records per output buffer (like a network frame)

// Deterministic PRNG (mulberry32) so every run sees the same records.
let seed = 42;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const CHANNELS = ["Google", "Facebook", "Baidu", "Apple"];
function chars(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rnd() * 26));
  return s;
}
function makeBid(i: number): Bid {
  const channel = rnd() < 0.9 ? CHANNELS[i % 4] : `channel-${1000 + Math.floor(rnd() * 9000)}`;
  return {
    auction: 1000 + Math.floor(rnd() * 100_000),
    bidder: 1000 + Math.floor(rnd() * 1_000_000),
    price: Math.floor(rnd() * 10_000_000),
    channel,
    url: `https://www.nexmark.com/${chars(5)}/${chars(5)}/item.htm?query=1&channel_id=${Math.floor(rnd() * 2 ** 30)}${chars(Math.floor(rnd() * 10))}`,
    dateTime: 1_700_000_000_000 + Math.floor(rnd() * 1e9),
    extra: chars(Math.floor(rnd() * 40)),
  };
}
const bids: Bid[] = Array.from({ length: DISTINCT }, (_, i) => makeBid(i));

interface Codec {
  name: string;
  write(r: Bid, out: DataOutputSerializer): void;
  read(input: DataInputDeserializer): Bid;
}

function fromSerializer(name: string, s: TypeSerializer<any>): Codec {
  return { name, write: (r, out) => s.write(r, out), read: (input) => s.read(input) as Bid };
}

const BidNumbers = Types.OBJECT({
  auction: Types.NUMBER,
  bidder: Types.NUMBER,
  price: Types.NUMBER,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.NUMBER,
  extra: Types.STRING,
});
const BidInts = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
});
const BidIntsLoose = Types.OBJECT(
  {
    auction: Types.INT,
    bidder: Types.INT,
    price: Types.INT,
    channel: Types.STRING,
    url: Types.STRING,
    dateTime: Types.INT,
    extra: Types.STRING,
  },
  { strict: false },
);

const codecs: Codec[] = [
  fromSerializer("OBJECT, NUMBER fields (f64)", BidNumbers.createSerializer()),
  fromSerializer("OBJECT, INT fields (varint)", BidInts.createSerializer()),
  fromSerializer("OBJECT, INT fields, strict: false", BidIntsLoose.createSerializer()),
  fromSerializer("GENERIC", Types.GENERIC.createSerializer()),
  {
    name: "JSON.stringify + utf8 / JSON.parse",
    write: (r, out) => out.writeString(JSON.stringify(r)),
    read: (input) => JSON.parse(input.readString()) as Bid,
  },
];

function encodeRun(c: Codec, out: DataOutputSerializer, n: number): number {
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    if (i % CHUNK === 0) {
      bytes += out.position;
      out.clear();
    }
    c.write(bids[i & (DISTINCT - 1)], out);
  }
  return bytes + out.position;
}

function decodeRun(
  c: Codec,
  input: DataInputDeserializer,
  starts: number[],
  ends: number[],
  n: number,
): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const j = i & (DISTINCT - 1);
    if (j === 0) input.position = starts[0];
    const r = c.read(input);
    sum += r.price + r.url.length + r.extra.length;
    if (input.position !== ends[j]) throw new Error(`${c.name}: record ${j} decoded to the wrong length`);
  }
  return sum;
}

function time(f: () => number): { ms: number; result: number } {
  const t0 = process.hrtime.bigint();
  const result = f();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, result };
}

let expectedSum = 0;
for (let i = 0; i < N; i++) {
  const r = bids[i & (DISTINCT - 1)];
  expectedSum += r.price + r.url.length + r.extra.length;
}
console.log(`node ${process.version}, ${N} records (${DISTINCT} distinct Bids cycled), median of 5 runs`);
console.log(
  "codec".padEnd(38),
  "encode M/s".padStart(11),
  "decode M/s".padStart(11),
  "bytes/rec".padStart(10),
);
for (const c of codecs) {
  const out = new DataOutputSerializer(1 << 16);
  // Decode input: all distinct records back to back.
  const all = new DataOutputSerializer(1 << 20);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const b of bids) {
    starts.push(all.position);
    c.write(b, all);
    ends.push(all.position);
  }
  const input = new DataInputDeserializer(all.view(), 0, all.position);
  // Warm up with small calls so the measured calls run regular (not OSR) optimized code.
  for (let w = 0; w < 10; w++) {
    encodeRun(c, out, 20_000);
    decodeRun(c, input, starts, ends, 20_000);
  }
  const enc: number[] = [];
  const dec: number[] = [];
  let bytes = 0;
  for (let run = 0; run < 5; run++) {
    const e = time(() => encodeRun(c, out, N));
    bytes = e.result;
    enc.push(N / e.ms / 1000);
    const d = time(() => decodeRun(c, input, starts, ends, N));
    if (d.result !== expectedSum) throw new Error(`${c.name}: checksum mismatch`);
    dec.push(N / d.ms / 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log(
    c.name.padEnd(38),
    median(enc).toFixed(2).padStart(11),
    median(dec).toFixed(2).padStart(11),
    (bytes / N).toFixed(1).padStart(10),
  );
}

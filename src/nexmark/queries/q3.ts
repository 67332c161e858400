// Nexmark q3, local item suggestion: who sells in category 10 in Oregon, Idaho or California.
//   SELECT P.name, P.city, P.state, A.id
//   FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
//   WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
//
// An incremental (unwindowed) join with keyed state, as Flink's regular join: persons and
// category-10 auctions are connected and keyed by person id / seller. A person is remembered (only its
// name, city and state, and only whether it is local when it is not); an auction whose seller is
// already known is answered at once, otherwise it waits in its seller's state until the person
// arrives (the generator creates auctions of sellers up to PERSON_ID_LEAD persons ahead). Results are
// emitted as soon as both sides are there, so the output is the join whatever the arrival order.
// Person ids are unique in Nexmark; were one repeated, the latest person with that id is the one used.
//
// Engine note: env.execute() (in-thread) hands one function object to every parallel subtask, and
// calls open() once per subtask on it; state handles kept in fields would then all be the last
// subtask's. So the handles are kept per RuntimeContext (one per subtask) until the engine gives each
// subtask its own function instance.

import {
  type Collector,
  type KeyedCoProcessFunction,
  type KeyedProcessContext,
  type RuntimeContext,
  Types,
  type ValueState,
  ValueStateDescriptor,
} from "../../index.ts";
import type { Auction, NexmarkEvent, Person } from "../../connectors/nexmark/model.ts";
import { AUCTION_TYPE, PERSON_TYPE } from "../../connectors/nexmark/types.ts";
import type { NexmarkQuery } from "./query.ts";

/** q3 output: one record per (category-10 auction, local seller) pair. */
export interface Q3Result {
  /** The seller's name. */
  name: string;
  city: string;
  /** "OR", "ID" or "CA". */
  state: string;
  /** The auction's id. */
  id: number;
}

export const Q3_TYPE = Types.OBJECT({
  name: Types.STRING,
  city: Types.STRING,
  state: Types.STRING,
  id: Types.INT,
});

const LOCAL_STATES = new Set(["OR", "ID", "CA"]);
const CATEGORY = 10;

/** What the join keeps of a person: null when it is not in LOCAL_STATES (its auctions never match). */
type Seller = { name: string; city: string; state: string } | null;

/** The join's keyed state in one subtask. */
interface JoinState {
  seller: ValueState<Seller>;
  waiting: ValueState<number[]>;
}

class LocalItemJoin implements KeyedCoProcessFunction<number, Person, Auction, Q3Result> {
  // State handles per subtask, not in fields set by open(): in the in-thread mode one function
  // object serves every parallel subtask of the operator (see the engine note in the module header).
  private readonly bySubtask = new Map<RuntimeContext, JoinState>();
  private lastRuntime: RuntimeContext | undefined;
  private last: JoinState | undefined;

  open(ctx: RuntimeContext): void {
    this.bySubtask.set(ctx, {
      seller: ctx.getState(new ValueStateDescriptor<Seller>("seller")),
      waiting: ctx.getState(new ValueStateDescriptor<number[]>("auctions-waiting-for-seller")),
    });
  }

  private state(ctx: KeyedProcessContext<number>): JoinState {
    const runtime = ctx.runtime;
    if (runtime !== this.lastRuntime) {
      this.lastRuntime = runtime;
      this.last = this.bySubtask.get(runtime)!;
    }
    return this.last!;
  }

  processElement1(p: Person, ctx: KeyedProcessContext<number>, out: Collector<Q3Result>): void {
    const { seller, waiting } = this.state(ctx);
    const local = LOCAL_STATES.has(p.state);
    seller.update(local ? { name: p.name, city: p.city, state: p.state } : null);
    const ids = waiting.value();
    if (ids === undefined) return;
    waiting.clear();
    if (!local) return;
    for (const id of ids) out.collect({ name: p.name, city: p.city, state: p.state, id });
  }

  processElement2(a: Auction, ctx: KeyedProcessContext<number>, out: Collector<Q3Result>): void {
    const { seller, waiting } = this.state(ctx);
    const s = seller.value();
    if (s === undefined) {
      // A new array, never one mutated in place: state values may be shared with a snapshot.
      const ids = waiting.value();
      waiting.update(ids === undefined ? [a.id] : [...ids, a.id]);
      return;
    }
    if (s !== null) out.collect({ name: s.name, city: s.city, state: s.state, id: a.id });
  }
}

export const q3: NexmarkQuery<Q3Result> = {
  name: "q3",
  title: "local item suggestion",
  fields: ["name", "city", "state", "id"],
  outputType: Q3_TYPE,
  build: (events) => {
    const persons = events.flatMap(selectPersons, "q3: persons").returns(PERSON_TYPE);
    const auctions = events.flatMap(selectAuctions, "q3: category-10 auctions").returns(AUCTION_TYPE);
    return persons
      .connect(auctions)
      .keyBy(
        (p) => p.id,
        (a) => a.seller,
      )
      .process<Q3Result>(new LocalItemJoin(), "q3: join persons and auctions")
      .returns(Q3_TYPE);
  },
};

function selectPersons(e: NexmarkEvent, out: Collector<Person>): void {
  if (e.type === "person") out.collect(e.person);
}

function selectAuctions(e: NexmarkEvent, out: Collector<Auction>): void {
  if (e.type === "auction" && e.auction.category === CATEGORY) out.collect(e.auction);
}

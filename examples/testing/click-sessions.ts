// The job side of the testing example (docs/testing.md): clicks are grouped into sessions per user;
// a session closes 30 minutes of event time after its last click, and emits its click count.

import {
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  OutputTag,
  ValueStateDescriptor,
} from "weir-stream";

export interface Click {
  user: string;
  url: string;
}

export interface Session {
  user: string;
  clicks: number;
  end: number;
}

export const SESSION_GAP = 30 * 60_000;
/** Clicks that arrive after their session was closed. */
export const LATE_CLICKS = new OutputTag<Click>("late-clicks");

const clicks = new ValueStateDescriptor<number>("clicks");
const closesAt = new ValueStateDescriptor<number>("closes-at");

export class ClickSessions implements KeyedProcessFunction<string, Click, Session> {
  processElement(click: Click, ctx: KeyedProcessContext<string>, _out: Collector<Session>): void {
    const time = ctx.timestamp() ?? ctx.timerService().currentProcessingTime();
    if (time <= ctx.timerService().currentWatermark()) {
      ctx.output(LATE_CLICKS, click);
      return;
    }
    const end = ctx.runtime.getState(closesAt);
    const previous = end.value();
    if (previous !== undefined) ctx.timerService().deleteEventTimeTimer(previous);
    end.update(time + SESSION_GAP);
    ctx.timerService().registerEventTimeTimer(time + SESSION_GAP);
    const count = ctx.runtime.getState(clicks);
    count.update((count.value() ?? 0) + 1);
  }

  onTimer(time: number, ctx: OnTimerContext<string>, out: Collector<Session>): void {
    const count = ctx.runtime.getState(clicks);
    out.collect({ user: ctx.getCurrentKey(), clicks: count.value() ?? 0, end: time });
    count.clear();
    ctx.runtime.getState(closesAt).clear();
  }
}

/** The part of the job under test: what the job does between its source and its sink. */
export function sessions(input: DataStream<Click>): DataStream<Session> {
  return input
    .keyBy((c) => c.user)
    .process(new ClickSessions(), "Click sessions")
    .uid("click-sessions");
}

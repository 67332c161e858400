// Copy-on-write snapshots of the heap backend rely on copyStateValue (src/state/copy.ts) sharing
// nothing mutable with the original: a change to the task's copy after a snapshot must never
// reach the value the snapshot is still writing. Each kind of container is changed through the
// copy here and the original checked untouched.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { copyStateValue } from "../../src/state/copy.ts";

describe("copyStateValue: the copy shares nothing mutable", () => {
  it("arrays, nested and holding objects", () => {
    const v = [{ n: 1 }, [2, { m: 3 }]] as [{ n: number }, [number, { m: number }]];
    const c = copyStateValue(v);
    c[0].n = 10;
    c[1][0] = 20;
    c[1][1].m = 30;
    assert.deepEqual(v, [{ n: 1 }, [2, { m: 3 }]]);
    assert.deepEqual(c, [{ n: 10 }, [20, { m: 30 }]]);
  });

  it("a frozen array's elements are copied (only frozen plain objects are shared)", () => {
    const inner = { n: 1 };
    const v = Object.freeze([inner]);
    const c = copyStateValue(v);
    assert.notEqual(c, v);
    assert.notEqual(c[0], inner);
    assert.deepEqual(c, [{ n: 1 }]);
  });

  it("Map values and Set elements", () => {
    const v = { m: new Map([["a", { n: 1 }]]), s: new Set([{ k: 1 }]) };
    const c = copyStateValue(v);
    c.m.get("a")!.n = 2;
    c.m.set("b", { n: 3 });
    for (const e of c.s) e.k = 5;
    c.s.add({ k: 6 });
    assert.deepEqual([...v.m], [["a", { n: 1 }]]);
    assert.deepEqual([...v.s], [{ k: 1 }]);
    assert.equal(c.m.size, 2);
    assert.deepEqual([...c.s], [{ k: 5 }, { k: 6 }]);
  });

  it("Dates", () => {
    const v = { d: new Date(1000) };
    const c = copyStateValue(v);
    c.d.setTime(2000);
    assert.equal(v.d.getTime(), 1000);
    assert.ok(c.d instanceof Date);
  });

  it("typed arrays and DataViews, only their own bytes, even over part of a larger buffer", () => {
    const backing = new ArrayBuffer(16);
    new Uint8Array(backing).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const bytes = new Uint8Array(backing, 4, 4);
    const view = new DataView(backing, 8, 4);
    const c = copyStateValue({ bytes, view, words: new Int32Array([7, 8]) });
    assert.ok(c.view instanceof DataView);
    assert.equal(c.view.byteLength, 4);
    assert.equal(c.view.byteOffset, 0);
    assert.deepEqual([c.view.getUint8(0), c.view.getUint8(3)], [8, 11]);
    assert.ok(c.bytes instanceof Uint8Array);
    assert.deepEqual([...c.bytes], [4, 5, 6, 7]);
    assert.ok(c.words instanceof Int32Array);
    c.view.setUint8(0, 99);
    c.bytes[0] = 99;
    c.words[0] = 99;
    assert.equal(new Uint8Array(backing)[8], 8);
    assert.equal(new Uint8Array(backing)[4], 4);
  });

  it("class instances keep their prototype and get their own fields", () => {
    class Acc {
      items: number[] = [];
      add(x: number): void {
        this.items.push(x);
      }
    }
    const v = new Acc();
    v.add(1);
    const c = copyStateValue(v);
    assert.ok(c instanceof Acc);
    c.add(2);
    assert.deepEqual(v.items, [1]);
    assert.deepEqual(c.items, [1, 2]);
  });

  it("objects without a prototype stay without one", () => {
    const v = Object.create(null) as Record<string, unknown>;
    v.x = { y: 1 };
    const c = copyStateValue(v);
    assert.equal(Object.getPrototypeOf(c), null);
    (c.x as { y: number }).y = 2;
    assert.deepEqual(v.x, { y: 1 });
  });

  it("primitives, null and undefined come back as they are", () => {
    for (const p of [0, -1.5, "s", true, null, undefined, 5n]) assert.equal(copyStateValue(p), p);
  });

  it("functions are shared as they are, also inside objects", () => {
    const fn = (x: number) => x + 1;
    assert.equal(copyStateValue(fn), fn);
    const c = copyStateValue({ fn, list: [fn] });
    assert.equal(c.fn, fn);
    assert.equal(c.list[0], fn);
    assert.equal(c.fn(1), 2);
  });
});

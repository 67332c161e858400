// A binary min-heap of entries ordered by `time` (ties: insertion order), with lazy deletion
// left to the owner (it skips entries it has cancelled when they surface).

export interface HeapEntry {
  time: number;
  seq: number;
}

export class TimerHeap<E extends HeapEntry> {
  private readonly items: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(e: E): void {
    e.seq = this.nextSeq++;
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  peek(): E | undefined {
    return this.items[0];
  }

  pop(): E | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    const n = a.length;
    if (n > 0 && last !== undefined) {
      // Sift the hole at the root down, then drop `last` into it (no swaps).
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(a[r]!, a[l]!) ? r : l;
        if (!less(a[c]!, last)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  /** Every entry, in no particular order (for snapshots). */
  values(): readonly E[] {
    return this.items;
  }
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

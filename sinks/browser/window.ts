import type { LiveChange } from '../../browser/protocol';

/** One change as it will be sent, with what the filters read. */
export interface EncodedChange {
  /** `schema.table` */
  readonly table: string;
  readonly change: LiveChange;
  /** `JSON.stringify(change)`, computed once for every client. */
  readonly text: string;
}

/** A committed transaction in the window. */
export interface WindowEntry {
  /** Position in the window's sequence: entries are numbered from 0 as they arrive. */
  readonly seq: number;
  /** End LSN. */
  readonly lsn: bigint;
  readonly lsnText: string;
  readonly commitTime: string;
  readonly changes: readonly EncodedChange[];
  /** UTF-16 code units of the encoded changes: what the window's byte bound counts. */
  readonly size: number;
}

/**
 * The last transactions, bounded by count and size, that clients can resume from.
 *
 * `floor` is the LSN up to which the window has nothing to give: the last evicted entry's LSN, or
 * the position the stream started from. A client at or past the floor can resume; one behind it
 * has missed something and must resync.
 */
export class ResumeWindow {
  private readonly entries: WindowEntry[] = [];
  private first = 0; // seq of entries[0]
  private bytes = 0;
  floor: bigint | undefined;

  constructor(
    private readonly maxTransactions: number,
    private readonly maxBytes: number,
    since: bigint | undefined,
  ) {
    this.floor = since;
  }

  /** The seq of the oldest entry still held. */
  get firstSeq(): number {
    return this.first;
  }

  /** The seq the next entry will get. */
  get nextSeq(): number {
    return this.first + this.entries.length;
  }

  /** The newest position: the last entry's LSN, else the floor. */
  get head(): bigint | undefined {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].lsn : this.floor;
  }

  get size(): { transactions: number; bytes: number } {
    return { transactions: this.entries.length, bytes: this.bytes };
  }

  at(seq: number): WindowEntry {
    return this.entries[seq - this.first];
  }

  /** Adds a transaction, evicting the oldest beyond the bounds (the newest always stays). */
  push(lsn: bigint, lsnText: string, commitTime: string, changes: readonly EncodedChange[]): WindowEntry {
    let size = 0;
    for (const c of changes) size += c.text.length;
    const entry: WindowEntry = { seq: this.nextSeq, lsn, lsnText, commitTime, changes, size };
    this.entries.push(entry);
    this.bytes += size;
    while (this.entries.length > 1 && (this.entries.length > this.maxTransactions || this.bytes > this.maxBytes)) this.evict();
    return entry;
  }

  /** Forgets everything up to `lsn`: clients behind it must resync. */
  reset(lsn: bigint): void {
    while (this.entries.length > 0) this.evict();
    this.floor = lsn;
  }

  /** The seq of the first entry after `lsn`, or undefined when the window cannot tell what came after it. */
  seqAfter(lsn: bigint): number | undefined {
    const oldest = this.entries[0];
    // Without a floor the window does not know what preceded its first entry.
    const known = this.floor !== undefined ? lsn >= this.floor : oldest !== undefined && lsn >= oldest.lsn;
    if (!known) return undefined;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].lsn <= lsn) lo = mid + 1;
      else hi = mid;
    }
    return this.first + lo;
  }

  private evict(): void {
    const e = this.entries.shift()!;
    this.first++;
    this.bytes -= e.size;
    this.floor = e.lsn;
  }
}

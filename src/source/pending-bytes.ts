/** Flow control of a physical replication source. */
export interface PhysicalFlowControlOptions {
  /**
   * Stop reading from the socket when this many bytes of WAL have been received but not
   * acknowledged (received position − `feedback.acknowledged`); resume at half. Never less than
   * two WAL segments, so a consumer that acknowledges once per segment cannot deadlock.
   * Default 64 MiB.
   */
  maxPendingBytes?: number;
}

export const DEFAULT_PHYSICAL_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * Flow control for a contiguous byte stream whose consumer acknowledges positions in it, as
 * physical WAL is (each XLogData's walStart is the LSN of its first byte): what is in flight is
 * simply the received position minus the acknowledged one. The logical source needs more (only
 * finished transactions count, see `flow-control.ts`); this is the same idea for raw WAL.
 */
export class PendingBytesWindow {
  paused = false;

  constructor(private readonly maxBytes: number) {
    if (!(maxBytes >= 1)) throw new RangeError('flowControl.maxPendingBytes must be at least 1');
  }

  /** Takes the received and acknowledged positions; returns true when `paused` changed. */
  update(received: bigint, acknowledged: bigint): boolean {
    const pending = received > acknowledged ? Number(received - acknowledged) : 0;
    if (!this.paused && pending >= this.maxBytes) return (this.paused = true);
    if (this.paused && pending <= this.maxBytes / 2) {
      this.paused = false;
      return true;
    }
    return false;
  }
}

import { BehaviorSubject, type Observable, distinctUntilChanged } from 'rxjs';

/**
 * A switch a slow sink flips so that a source stops reading from its socket: the backlog then
 * waits in TCP buffers and on the server instead of in memory. `writeBaseBackup` pauses while
 * its file or extraction stream is full and resumes on drain; `baseBackup` pauses its connection.
 *
 * @example
 * const backpressure = new Backpressure();
 * baseBackup({ connectionString: url, backpressure })
 *   .pipe(writeBaseBackup({ directory: 'restore', format: 'plain', backpressure }))
 *   .subscribe();
 */
export class Backpressure {
  private readonly subject = new BehaviorSubject(false);

  /** Emits whether the source should hold off, now and on each change. */
  get paused$(): Observable<boolean> {
    return this.subject.pipe(distinctUntilChanged());
  }

  get paused(): boolean {
    return this.subject.value;
  }

  pause(): void {
    if (!this.subject.value) this.subject.next(true);
  }

  resume(): void {
    if (this.subject.value) this.subject.next(false);
  }
}

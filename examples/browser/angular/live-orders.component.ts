// An Angular standalone component that shows orders as PostgreSQL commits them, through the
// `async` pipe: the subscription (and the WebSocket) lives as long as the component.
//
// In your app: `import { liveChanges } from 'pg-walstream/browser'`. Angular is not a dependency
// of this repository: this file is type-checked against angular-shim.d.ts, which declares only the
// few Angular names used here, so that the pg-walstream and RxJS side of it is checked.
import { AsyncPipe, CurrencyPipe } from '@angular/common';
import { ChangeDetectionStrategy, Component } from '@angular/core';
import { type Observable, filter, map, scan, startWith } from 'rxjs';
import { type JsonRow, type LiveEvent, liveChanges } from '../../../browser/index.js';

/** Orders by id, newest first; a resync starts from an empty list (a real app reloads them here). */
function applyEvent(orders: ReadonlyMap<number, JsonRow>, event: LiveEvent): ReadonlyMap<number, JsonRow> {
  if (event.type === 'resync') return new Map();
  const next = new Map(orders);
  for (const change of event.changes) {
    if (change.type === 'truncate') next.clear();
    else if (change.type === 'delete') next.delete(Number((change.key ?? change.old)?.['id']));
    else if (change.new) next.set(Number(change.new['id']), change.new);
  }
  return next;
}

@Component({
  selector: 'app-live-orders',
  standalone: true,
  imports: [AsyncPipe, CurrencyPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <table>
      @for (order of orders$ | async; track order['id']) {
        <tr><td>{{ order['id'] }}</td><td>{{ order['item'] }}</td><td>{{ order['amount'] | currency }}</td></tr>
      }
    </table>
  `,
})
export class LiveOrdersComponent {
  readonly orders$: Observable<JsonRow[]> = liveChanges({ url: `wss://${location.host}/changes`, tables: ['orders'], token: sessionToken() }).pipe(
    filter((event) => event.type === 'resync' || event.changes.length > 0),
    scan(applyEvent, new Map<number, JsonRow>()),
    map((orders) => [...orders.values()].reverse()), // newest first
    startWith([]),
  );
}

// The DOM's `location` (this repository compiles without the DOM library), and your app's token.
declare const location: { readonly host: string };
declare function sessionToken(): string;

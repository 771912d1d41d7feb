// Stand-ins for the Angular declarations live-orders.component.ts uses, so that it type-checks in
// this repository without installing Angular. In an Angular app the real packages replace them.
declare module '@angular/core' {
  export enum ChangeDetectionStrategy { OnPush = 0, Default = 1 }
  export function Component(meta: {
    selector: string;
    standalone?: boolean;
    imports?: unknown[];
    changeDetection?: ChangeDetectionStrategy;
    template: string;
  }): <T extends abstract new (...args: never[]) => unknown>(target: T, context?: unknown) => T | void;
}
declare module '@angular/common' {
  export class AsyncPipe {}
  export class CurrencyPipe {}
}

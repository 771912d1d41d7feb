import { NEVER, concatMap, from, lastValueFrom, takeUntil } from 'rxjs';
import type { CreateReplicationSlotOptions } from '../src/control/client';
import { ConfigurationError } from '../src/errors';
import { JSON_TYPE_OPTIONS, messageToJson } from '../src/json';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import { initialSnapshot } from '../src/snapshot/initial-snapshot';
import { settleSnapshotEvent } from '../src/snapshot/settle';
import type { ConnectionOptions } from '../src/wire/config';
import type { OutputSink } from './output';

/** Options of {@link writeSnapshot}: what `pg-walstream stream --snapshot` passes. */
export interface WriteSnapshotOptions extends ConnectionOptions {
  slot: string;
  publications: string | readonly string[];
  /** The slot `--create-slot` asks for; required, and not temporary. */
  createSlot: CreateReplicationSlotOptions | undefined;
  output: OutputSink;
  raw?: boolean;
  stopSignal?: Promise<void>;
}

/**
 * `pg-walstream stream --snapshot`: prints every row of the publications' tables as it was at the
 * slot's consistent point, one JSON line each, `{"type":"snapshot","schema":…,"table":…,"new":{…}}`
 * with values typed as the stream's `new` (docs/json-output.md), before the stream goes on from
 * that point. A batch counts as done once its lines are written (and the last one once an fsync
 * covers them, where the output can be synced), so the completion recorded in
 * the state table means every line reached the output; an interrupted snapshot starts over on the
 * next run (docs/snapshot.md). Resolves `false` when stopped by the stop signal.
 * @throws {ConfigurationError} without `--create-slot`, or with `--temporary`.
 */
export async function writeSnapshot(options: WriteSnapshotOptions): Promise<boolean> {
  if (options.createSlot === undefined) throw new ConfigurationError('--snapshot needs --create-slot: the snapshot is taken when the slot is created');
  if (options.createSlot.temporary) throw new ConfigurationError('--snapshot needs a permanent slot (no --temporary): the stream continues from it');
  const { temporary: _temporary, ...slotOptions } = options.createSlot;
  let stopped = false;
  const stop = options.stopSignal === undefined ? NEVER : from(options.stopSignal.then(() => (stopped = true)));
  await lastValueFrom(
    initialSnapshot({ ...options, slotOptions, copyFormat: 'text', types: JSON_TYPE_OPTIONS, feedback: true }).pipe(
      takeUntil(stop),
      concatMap(async (event) => {
        if (event.type === 'snapshotRows') {
          let lines = '';
          for (const row of event.rows) {
            lines += `${JSON.stringify(messageToJson({ type: 'snapshot', relation: event.relation, new: row } as unknown as PgoutputMessage, { raw: options.raw }))}\n`;
          }
          await write(options.output, Buffer.from(lines));
        }
        // The completion recorded in the state table must not outrun the lines' durability.
        if (event.type === 'snapshotComplete') await sync(options.output);
        settleSnapshotEvent(event);
        return event;
      }),
    ),
    { defaultValue: undefined },
  );
  return !stopped;
}

function write(sink: OutputSink, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sink.write(bytes, (err) => (err ? reject(err) : resolve())));
}

function sync(sink: OutputSink): Promise<void> {
  return new Promise((resolve, reject) => (sink.sync === undefined ? resolve() : sink.sync((err) => (err ? reject(err) : resolve()))));
}

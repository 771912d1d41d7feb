import type { UpdateMessage } from '../pgoutput/messages';
import { UNCHANGED_TOAST } from '../pgoutput/row';

/**
 * The new row of an update as `{ column: value }`, with each unchanged TOAST value (which the
 * server does not send) taken from the old row where the server sent one: under REPLICA IDENTITY
 * FULL the old row carries the whole value (docs/types.md). Without an old row such columns stay
 * {@link UNCHANGED_TOAST}.
 *
 * @example
 * if (msg.type === 'update') upsert(updatedValues(msg));
 */
export function updatedValues(msg: UpdateMessage): Record<string, unknown> {
  const values = msg.new.toObject();
  const old = msg.old;
  if (old === undefined) return values;
  for (const [name, value] of Object.entries(values)) {
    if (value === UNCHANGED_TOAST && !old.isUnchangedToast(name)) values[name] = old.get(name);
  }
  return values;
}

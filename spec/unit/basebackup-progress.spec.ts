import { PassThrough } from 'node:stream';
import { Lsn } from '../../src';
import { progressReporter } from '../../cli/basebackup';
import type { BaseBackupEvent } from '../../src/physical/base-backup';

const events: BaseBackupEvent[] = [
  { type: 'backupStart', startLsn: Lsn.parse('0/2000028'), timeline: 1, tablespaces: [], totalEstimate: 4 * 1024 * 1024, serverVersion: 180000 },
  { type: 'progress', bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024, tablespace: null, archiveName: 'base.tar' },
  { type: 'progress', bytesDone: 4 * 1024 * 1024, bytesTotal: 4 * 1024 * 1024, tablespace: null, archiveName: 'base.tar' },
  { type: 'backupEnd', endLsn: Lsn.parse('0/3000000'), timeline: 1 },
];

function capture(tty: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), tty ? { isTTY: true, columns: 100 } : {});
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

describe('basebackup progress', () => {
  it('prints plain lines when not on a terminal', () => {
    const { stream, text } = capture(false);
    const report = progressReporter(stream);
    for (const e of events) report(e);
    expect(text()).toContain('backup started at 0/2000028 on timeline 1');
    expect(text()).toContain('1024/4096 kB (25%), tablespace base');
    expect(text()).toContain('4096/4096 kB (100%), done');
    expect(text()).toContain('backup ended at 0/3000000 on timeline 1');
    expect(text()).not.toContain('\u001b['); // no terminal control sequences
  });

  it('draws a progress bar on a terminal', () => {
    const { stream, text } = capture(true);
    const report = progressReporter(stream);
    for (const e of events) report(e);
    expect(text()).toMatch(/█{40} 100% \| 4096\/4096 kB \| base/);
  });
});

// A BrowserHub WebSocket client in a process of its own, so that it keeps reading while the
// test process (which runs the hub) is busy: argv[2] is the port, argv[3] the subscribe request
// as JSON. Prints one line per transaction: "<rows so far> <its LSN>".
const WebSocket = require('ws');

const ws = new WebSocket(`ws://127.0.0.1:${process.argv[2]}/changes`);
let rows = 0;
ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', ...JSON.parse(process.argv[3]) })));
ws.on('message', (data) => {
  const message = JSON.parse(String(data));
  if (message.type === 'ready') process.stdout.write(`0 ${message.lsn}\n`);
  if (message.type !== 'transaction') return;
  rows += message.changes.length;
  process.stdout.write(`${rows} ${message.lsn}\n`);
});
ws.on('close', () => process.exit(0));
ws.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});

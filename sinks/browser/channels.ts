// One connected browser, whichever the transport: what the hub needs to send, measure and close.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';

export interface Channel {
  readonly transport: 'websocket' | 'sse';
  /** Bytes queued in this process and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /** Queues one message; `written` runs once it has left this process. */
  send(text: string, id: string | undefined, written: () => void): void;
  /** Ends the connection after what is queued (a refusal or shutdown). */
  end(code: number, reason: string): void;
  /** Drops the connection and what is queued at once (a slow client). */
  destroy(): void;
  /** Called once when the connection is gone, whoever closed it. */
  onClose(listener: () => void): void;
}

export function sseChannel(req: IncomingMessage, res: ServerResponse): Channel {
  req.socket.setNoDelay(true);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: do not buffer the stream
  });
  res.write('retry: 1000\n\n'); // for a plain EventSource; pg-walstream/browser reconnects itself
  return {
    transport: 'sse',
    get pendingBytes() {
      return res.writableLength;
    },
    send(text, id, written) {
      // JSON.stringify escapes line breaks, so the text is one `data:` line.
      res.write(id === undefined ? `data: ${text}\n\n` : `id: ${id}\ndata: ${text}\n\n`, () => written());
    },
    end() {
      res.end();
    },
    destroy() {
      res.destroy();
    },
    onClose(listener) {
      res.once('close', listener);
    },
  };
}

export function webSocketChannel(ws: WebSocket): Channel {
  return {
    transport: 'websocket',
    get pendingBytes() {
      return ws.bufferedAmount;
    },
    send(text, _id, written) {
      if (ws.readyState === ws.OPEN) ws.send(text, () => written());
    },
    end(code, reason) {
      ws.close(code, reason);
    },
    destroy() {
      ws.terminate();
    },
    onClose(listener) {
      ws.once('close', listener);
    },
  };
}

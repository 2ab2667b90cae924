import { connect } from 'node:net';

/** What a raw HTTP/1.1 exchange gave. */
export interface RawAnswer {
  /** 0 when no answer arrived. */
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are asserted field by field in tests
  json: any;
  /** Body bytes the socket had accepted when the answer was complete. */
  writtenAtAnswer: number;
  /** Body bytes the socket accepted in all. */
  written: number;
  /** Milliseconds from the first byte sent to the complete answer. */
  ms: number;
}

/**
 * Sends one request over a fresh socket, the body in 64 KiB writes that wait for the socket to drain, and
 * keeps writing after the answer until the body is sent or the server closes: the bytes the socket accepted
 * show how much of the body the server let in (plus the kernel's buffers). Node's HTTP clients cannot show that.
 */
export function rawRequest(
  base: string,
  request: { method?: string; path: string; headers?: Record<string, string>; body: Buffer },
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const started = performance.now();
    const answer: RawAnswer = {
      status: 0,
      headers: {},
      json: undefined,
      writtenAtAnswer: 0,
      written: 0,
      ms: 0,
    };
    let received = Buffer.alloc(0);
    let done = false;
    let sent = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (part: Buffer) => {
      received = Buffer.concat([received, part]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0 || answer.status !== 0) return;
      const lines = received.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      answer.status = Number(lines[0]!.split(' ')[1]);
      answer.headers = headers;
      const text = received.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      try {
        answer.json = JSON.parse(text);
      } catch {
        answer.json = text;
      }
      answer.ms = performance.now() - started;
      answer.writtenAtAnswer = answer.written;
      if (sent) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.once('connect', () => {
      void (async () => {
        const head =
          `${request.method ?? 'POST'} ${request.path} HTTP/1.1\r\nhost: ${url.host}\r\n` +
          `content-length: ${request.body.length}\r\n` +
          Object.entries(request.headers ?? {})
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') +
          '\r\n';
        socket.write(head, 'latin1');
        for (let at = 0; at < request.body.length && !done; at += 64 * 1024) {
          const slice = request.body.subarray(at, at + 64 * 1024);
          const flushed = socket.write(slice);
          answer.written += slice.length;
          if (!flushed) {
            await new Promise<void>((go) => {
              const done = (): void => {
                socket.off('drain', done);
                socket.off('close', done);
                go();
              };
              socket.once('drain', done);
              socket.once('close', done);
            });
          }
        }
        // The whole body went out: finish now or once the answer is complete (or the socket closes).
        sent = true;
        if (answer.status !== 0) finish();
      })();
    });
  });
}

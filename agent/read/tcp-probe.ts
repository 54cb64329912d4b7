// TCP connect time: the latency fallback where no ping binary exists (or ICMP is not allowed).
import net from 'node:net';

/** Connect time in ms, or undefined on refusal, reset or timeout. The socket is closed at once. */
export function tcpConnectTime(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const socket = net.connect({ host, port });
    let done = false;
    const finish = (value: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(value);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(Number(process.hrtime.bigint() - start) / 1e6));
    socket.once('error', () => finish(undefined));
  });
}

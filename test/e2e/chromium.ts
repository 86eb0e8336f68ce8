// Headless Chromium for the dashboard tests, driven over the Chrome DevTools Protocol
// (https://chromedevtools.github.io/devtools-protocol/) without a package: Node 20 has no
// WebSocket client without a flag, so a minimal one (RFC 6455: the handshake, masked text frames
// out, text/continuation/ping/close frames in) is written here. Debian's `chromium`; as root it
// needs --no-sandbox. Everything started here is ended when the test ends.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/** The Chromium binary, or null when none is installed (the browser tests are skipped then). */
export const CHROMIUM: string | null = (() => {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  }
  return null;
})();

/** A WebSocket client of just what CDP needs. */
class Socket {
  private buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  onMessage: (text: string) => void = () => undefined;

  private constructor(private readonly socket: net.Socket) {}

  static connect(url: string): Promise<Socket> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname);
      const key = randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      socket.once('error', reject);
      socket.on('connect', () =>
        socket.write(
          `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) {
          reject(new Error(`WebSocket handshake refused: ${status}`));
          socket.destroy();
          return;
        }
        const ws = new Socket(socket);
        socket.on('data', (d: Buffer) => ws.receive(d));
        ws.receive(head.subarray(end + 4));
        resolve(ws);
      };
      socket.on('data', onData);
    });
  }

  send(text: string): void {
    const payload = Buffer.from(text, 'utf8');
    const n = payload.length;
    const header =
      n < 126
        ? Buffer.from([0x81, 0x80 | n])
        : n < 65536
          ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255])
          : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), bigEndian64(n)]);
    const mask = randomBytes(4);
    for (let i = 0; i < n; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.socket.write(Buffer.concat([header, mask, payload]));
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const b0 = this.buffer[0] as number;
      const b1 = this.buffer[1] as number;
      let len = b1 & 127;
      let at = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buffer.length < at + len) return;
      const payload = this.buffer.subarray(at, at + len);
      this.buffer = this.buffer.subarray(at + len);
      const opcode = b0 & 15;
      if (opcode === 9) this.socket.write(Buffer.concat([Buffer.from([0x8a, 0x80]), randomBytes(4)]));
      else if (opcode === 8) this.socket.end();
      else if (opcode === 0 || opcode === 1) {
        this.parts.push(Buffer.from(payload));
        if ((b0 & 0x80) !== 0) {
          const text = Buffer.concat(this.parts).toString('utf8');
          this.parts = [];
          this.onMessage(text);
        }
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** One page (tab) of the browser. */
export interface Page {
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** An expression's value in the page (awaited when a promise). */
  evaluate<T>(expression: string): Promise<T>;
  navigate(url: string): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export interface Browser {
  page(width?: number, height?: number): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM === null) throw new Error('no chromium');
  const profile = mkdtempSync(path.join(tmpdir(), 'cw-chromium-'));
  const args = [
    '--headless',
    '--disable-gpu',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    '--disable-background-networking',
    '--hide-scrollbars',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    'about:blank',
  ];
  // A process group of its own: its helpers (zygote, renderers, crashpad) are stopped with it.
  const child: ChildProcess = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    await exited;
    // A helper outside the group may still be writing the profile for a moment: tried for 5 s,
    // then left to the temp folder's cleaning (it is only a browser profile).
    for (let tries = 0; tries < 50; tries++) {
      try {
        rmSync(profile, { recursive: true, force: true });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  onTestFinished(stop);
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 30_000);
    child.stderr?.on('data', (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.on('exit', (code) => reject(new Error(`chromium exited ${code}: ${err}`)));
  });
  const ws = await Socket.connect(url);
  let id = 0;
  const waiting = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  const listeners: ((msg: { method: string; sessionId?: string; params: unknown }) => void)[] = [];
  ws.onMessage = (text) => {
    const msg = JSON.parse(text) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { message: string };
      method?: string;
      sessionId?: string;
      params?: unknown;
    };
    if (msg.id !== undefined) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error !== undefined) w?.reject(new Error(msg.error.message));
      else w?.resolve(msg.result ?? {});
    } else if (msg.method !== undefined)
      for (const l of listeners) l({ method: msg.method, sessionId: msg.sessionId, params: msg.params });
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const n = ++id;
      waiting.set(n, { resolve, reject });
      ws.send(JSON.stringify({ id: n, method, params, ...(sessionId === undefined ? {} : { sessionId }) }));
    });
  return {
    async page(width = 1280, height = 1000) {
      const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as {
        targetId: string;
      };
      const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
        sessionId: string;
      };
      const inPage = (method: string, params: Record<string, unknown> = {}) =>
        send(method, params, sessionId);
      await inPage('Page.enable');
      await inPage('Runtime.enable');
      await inPage('Emulation.setDeviceMetricsOverride', {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      });
      return {
        send: inPage,
        async evaluate<T>(expression: string): Promise<T> {
          const r = (await inPage('Runtime.evaluate', {
            expression,
            returnByValue: true,
            awaitPromise: true,
          })) as {
            result: { value?: T };
            exceptionDetails?: { text: string; exception?: { description?: string } };
          };
          if (r.exceptionDetails !== undefined)
            throw new Error(
              `in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`,
            );
          return r.result.value as T;
        },
        async navigate(to: string) {
          const loaded = new Promise<void>((resolve) => {
            const l = (msg: { method: string; sessionId?: string }) => {
              if (msg.method === 'Page.loadEventFired' && msg.sessionId === sessionId) {
                listeners.splice(listeners.indexOf(l), 1);
                resolve();
              }
            };
            listeners.push(l);
          });
          const r = (await inPage('Page.navigate', { url: to })) as { errorText?: string };
          if (r.errorText !== undefined) throw new Error(`navigating to ${to}: ${r.errorText}`);
          await loaded;
        },
        async screenshot() {
          const r = (await inPage('Page.captureScreenshot', {
            format: 'png',
            captureBeyondViewport: true,
          })) as {
            data: string;
          };
          return Buffer.from(r.data, 'base64');
        },
      };
    },
    async close() {
      ws.close();
      await stop();
    },
  };
}

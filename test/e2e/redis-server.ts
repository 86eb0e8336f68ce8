// A real redis-server for the fleet's tests: Debian's `redis-server` (installed by .ci/run), on a
// free loopback port, in a temp folder of its own, stopped when the test ends. Tests can stop it,
// start it again (empty, or from its last save), freeze it (SIGSTOP: a Redis that is slow to
// answer) and thaw it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

export const REDIS_SERVER = (() => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
})();

/** A free TCP port on 127.0.0.1 (the kernel's pick, released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisOptions {
  password?: string;
}

export class RedisServer {
  private child: ChildProcess | null = null;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisOptions,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'cw-redis-'));
  }

  /** Start a server on a free port; it is stopped (and its folder removed) when the test ends. */
  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    if (REDIS_SERVER === null)
      throw new Error('redis-server is not installed (apt-get install redis-server)');
    const server = new RedisServer(await freePort(), options);
    onTestFinished(async () => {
      await server.stop();
      rmSync(server.dir, { recursive: true, force: true });
    });
    await server.run();
    return server;
  }

  /** redis://[:password@]127.0.0.1:<port> */
  get url(): string {
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private async run(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      ...(this.options.password === undefined ? [] : ['--requirepass', this.options.password]),
    ];
    const child = spawn(REDIS_SERVER as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 20_000;
    while (!(await this.answers())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${this.port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A PING over a raw socket: true when the server answers (with PONG, or NOAUTH). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      import('node:net').then(({ connect }) => {
        const socket = connect(this.port, '127.0.0.1');
        let text = '';
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.setTimeout(1000, () => done(false));
        socket.on('error', () => done(false));
        socket.on('data', (d) => {
          text += d;
          if (text.includes('\r\n')) done(text.startsWith('+PONG') || text.includes('NOAUTH'));
        });
        socket.on('connect', () => socket.write('PING\r\n'));
      });
    });
  }

  /** Stop the server (SIGTERM; SIGKILL after 5 s) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }

  /** Stop and start again on the same port, with nothing in it (no save is kept). */
  async restartEmpty(): Promise<void> {
    await this.stop();
    await this.run();
  }

  /** Start again after stop() (on the same port, empty). */
  async startAgain(): Promise<void> {
    await this.run();
  }

  /** Freeze the server (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** A command through redis-cli (for tests that look at or change what Redis holds). */
  cli(...args: string[]): string {
    const r = spawnSync(
      'redis-cli',
      [
        '-p',
        String(this.port),
        ...(this.options.password === undefined ? [] : ['-a', this.options.password, '--no-auth-warning']),
        ...args,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }
}

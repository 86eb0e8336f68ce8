// What `watch`'s HTTP server answers, from the request alone (src/http/routes.ts): the routes,
// the methods, the Host a loopback server accepts, why a listen failed, and the rebuild throttle.
import { describe, expect, it } from 'vitest';
import { hostOf, listenFailure, rebuildDelay, routeOf } from '../../src/http/routes.js';

describe('routeOf', () => {
  it.each([
    ['GET', '/', '127.0.0.1:9464', true, 'page'],
    ['HEAD', '/', '127.0.0.1:9464', true, 'page'],
    ['GET', '/status.json', 'localhost:9464', true, 'status'],
    ['GET', '/status.json?x=1', '[::1]:9464', true, 'status'],
    ['GET', '/metrics', '127.0.0.2', true, 'metrics'],
    ['GET', '/events', 'LOCALHOST:1', true, 'events'],
    ['GET', '/index.html', '127.0.0.1:9464', true, 'not-found'],
    ['GET', '/status.json/', '127.0.0.1:9464', true, 'not-found'],
    ['GET', '/../etc/passwd', '127.0.0.1:9464', true, 'not-found'],
    ['POST', '/', '127.0.0.1:9464', true, 'method-not-allowed'],
    ['PUT', '/status.json', '127.0.0.1:9464', true, 'method-not-allowed'],
    ['DELETE', '/nothing', '127.0.0.1:9464', true, 'method-not-allowed'],
    ['OPTIONS', '/', '127.0.0.1:9464', true, 'method-not-allowed'],
    // DNS rebinding: a name that resolved to the loopback server.
    ['GET', '/status.json', 'attacker.example', true, 'wrong-host'],
    ['GET', '/status.json', 'attacker.example:9464', true, 'wrong-host'],
    ['GET', '/status.json', '', true, 'wrong-host'],
    ['GET', '/status.json', undefined, true, 'wrong-host'],
    ['GET', '/status.json', '127.0.0.1.attacker.example', true, 'wrong-host'],
    // Listening beyond loopback (allow_remote): any Host, as reverse proxies and names need.
    ['GET', '/status.json', 'watchdog.internal:9464', false, 'status'],
  ] as const)('%s %s (Host %s, loopback %s) -> %s', (method, url, host, loopback, kind) => {
    expect(routeOf(method, url, host, loopback).kind).toBe(kind);
  });
});

describe('hostOf', () => {
  it.each([
    ['127.0.0.1:9464', '127.0.0.1'],
    ['localhost', 'localhost'],
    ['[::1]:9464', '::1'],
    ['[::1]', '::1'],
    ['Example.COM:80', 'example.com'],
    [' 127.0.0.1 ', '127.0.0.1'],
  ])('%j -> %j', (header, host) => {
    expect(hostOf(header)).toBe(host);
  });
});

describe('listenFailure', () => {
  const error = (code: string) => Object.assign(new Error(`${code} message`), { code });
  it.each([
    ['EADDRINUSE', '127.0.0.1:9464 is already in use by another process'],
    ['EACCES', 'not allowed to listen on 127.0.0.1:9464 (a port below 1024 needs privileges)'],
    ['EADDRNOTAVAIL', '127.0.0.1:9464 is not an address of this host'],
    ['ENOTFOUND', 'the host of 127.0.0.1:9464 does not resolve'],
    ['EWHATEVER', 'cannot listen on 127.0.0.1:9464: EWHATEVER message'],
  ])('%s', (code, text) => {
    expect(listenFailure('127.0.0.1:9464', error(code))).toBe(text);
  });
});

describe('rebuildDelay (at most one rebuild every 250 ms)', () => {
  it.each([
    [null, 1_000, 0],
    [1_000, 1_000, 250],
    [1_000, 1_100, 150],
    [1_000, 1_250, 0],
    [1_000, 5_000, 0],
    // A clock stepped back never waits longer than the gap.
    [5_000, 1_000, 250],
  ])('last %s, now %s -> %s ms', (last, now, delay) => {
    expect(rebuildDelay(last, now)).toBe(delay);
  });
});

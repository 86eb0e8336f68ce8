#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
// The young generation stays at its starting size (1 MB semispaces) instead of growing to 16 MB
// ones: a full read that keeps many objects (100,000 retry-storm ids) grew it by 30 MB, the
// largest part of its peak RSS, for no measured gain in speed (see README: Benchmark, memory).
// A V8 flag read each time the young generation would grow, so it takes effect when set here.
setFlagsFromString('--semi-space-growth-factor=1');
await import('../dist/cli.js');

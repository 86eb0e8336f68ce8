// Bytes of a log file -> complete lines. A last line without its newline is a write in progress:
// its bytes are held (and saved in the checkpoint) until the rest arrives. Lines over 1 MiB are
// not held in memory: they are skipped up to their newline and reported once.

export const MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 10;
/**
 * Bytes of newlines a reader should leave after the data it feeds (see feed's `length`). The
 * line scanner may read a little past a line; a read past the end of the array makes V8 throw
 * away its optimized code ("out of bounds" deopt), once per chunk, which costs more than the rest.
 */
export const SCAN_PADDING = 4096;

export interface LineSink {
  /** A complete, non-blank line: bytes[start, end), newline excluded. `lineNo` counts from 1. */
  line(bytes: Uint8Array, start: number, end: number, lineNo: number): void;
  /**
   * Optional fast path: read the line that starts at bytes[start] and ends at a newline before
   * `limit`, and return that newline's index; or return -1 without having counted anything, and
   * the line is found and handed to line() as usual. Saves searching for every newline twice.
   */
  lineAt?(bytes: Uint8Array, start: number, limit: number, lineNo: number): number;
  malformed(lineNo: number, reason: string, excerpt: string): void;
  /**
   * Optional: bytes from this offset of the file are being read elsewhere (a helper thread). The
   * reader stops its chunks there and calls claim().
   */
  claimFrom?: number;
  /**
   * The reader is at `claimFrom` of the open file `fd`, at a line start: the lines from there are
   * counted already (returns how many and the offset they end at), or null to read them as usual.
   */
  claim?(fd: number, at: number, linesBefore: number): { lines: number; end: number } | null;
  /** Optional: called between chunks (a helper thread's questions are answered there). */
  poll?(): void;
}

/** Where reading one file stands; saved in the checkpoint between runs. */
export interface AssemblerState {
  /** Bytes of the unfinished last line. */
  pending: Uint8Array;
  /** Complete lines consumed so far. */
  lineNo: number;
  /** The unfinished line is already longer than MAX_LINE_BYTES (its bytes are not kept). */
  overlong: boolean;
}

export function newAssembler(): AssemblerState {
  return { pending: new Uint8Array(0), lineNo: 0, overlong: false };
}

const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The start of a line, readable, for reports. */
export function excerptOf(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return lenient.decode(bytes.subarray(start, Math.min(end, start + 240))).slice(0, 120);
}

function isBlank(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** One complete line, checked and handed on. */
function emit(state: AssemblerState, b: Uint8Array, start: number, end: number, sink: LineSink): void {
  state.lineNo++;
  if (end - start > MAX_LINE_BYTES) {
    sink.malformed(state.lineNo, `line longer than 1 MiB (${end - start} bytes)`, excerptOf(b, start, end));
  } else if (!isBlank(b, start, end)) {
    sink.line(b, start, end, state.lineNo);
  }
}

/**
 * Feed the next bytes of the file: input[0, length). `atFileStart` is true when they begin at
 * byte 0 of the file, where a UTF-8 byte order mark is dropped. Lines are handed on as bytes:
 * decoding is left to the parser, which needs it only for lines that are not plain ASCII. A reader
 * on the hot path passes `length` below input.length, with SCAN_PADDING newlines after the data.
 */
export function feed(
  state: AssemblerState,
  input: Uint8Array,
  sink: LineSink,
  atFileStart = false,
  length = input.length,
): void {
  const chunk = input;
  let pos = 0;
  if (atFileStart && length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
  // Finish the line left over from before.
  if (state.pending.length > 0 || state.overlong) {
    const found = chunk.indexOf(NEWLINE, pos);
    const nl = found >= length ? -1 : found;
    if (nl < 0) {
      hold(state, chunk.subarray(pos, length));
      return;
    }
    if (state.overlong) {
      state.lineNo++;
      sink.malformed(state.lineNo, 'line longer than 1 MiB', excerptOf(state.pending));
      state.overlong = false;
      state.pending = new Uint8Array(0);
    } else {
      const lineLength = state.pending.length + nl - pos;
      const joined = new Uint8Array(lineLength + SCAN_PADDING).fill(NEWLINE, lineLength);
      joined.set(state.pending, 0);
      joined.set(chunk.subarray(pos, nl), state.pending.length);
      state.pending = new Uint8Array(0);
      emit(state, joined, 0, lineLength, sink);
    }
    pos = nl + 1;
  }
  const fast = sink.lineAt?.bind(sink);
  while (pos < length) {
    if (fast !== undefined) {
      const end = fast(chunk, pos, Math.min(length, pos + MAX_LINE_BYTES + 1), state.lineNo + 1);
      if (end >= 0) {
        state.lineNo++;
        pos = end + 1;
        continue;
      }
    }
    const nl = chunk.indexOf(NEWLINE, pos);
    if (nl < 0 || nl >= length) break;
    emit(state, chunk, pos, nl, sink);
    pos = nl + 1;
  }
  if (pos < length) hold(state, chunk.subarray(pos, length));
}

function hold(state: AssemblerState, bytes: Uint8Array): void {
  if (state.overlong) return;
  if (state.pending.length + bytes.length > MAX_LINE_BYTES) {
    // Keep only the start, for the excerpt in the report when the newline arrives.
    const head = new Uint8Array(Math.min(240, state.pending.length + bytes.length));
    head.set(state.pending.subarray(0, head.length), 0);
    if (state.pending.length < head.length)
      head.set(bytes.subarray(0, head.length - state.pending.length), state.pending.length);
    state.pending = head;
    state.overlong = true;
    return;
  }
  const joined = new Uint8Array(state.pending.length + bytes.length);
  joined.set(state.pending, 0);
  joined.set(bytes, state.pending.length);
  state.pending = joined;
}

/**
 * The file will get no more bytes (it was rotated away and left behind): an unfinished last line
 * is now known to be cut short.
 */
export function finish(state: AssemblerState, sink: LineSink): void {
  if (state.pending.length === 0 && !state.overlong) return;
  state.lineNo++;
  sink.malformed(
    state.lineNo,
    'unfinished last line of a rotated log (no newline)',
    excerptOf(state.pending),
  );
  state.pending = new Uint8Array(0);
  state.overlong = false;
}

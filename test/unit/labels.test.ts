import { describe, expect, it } from 'vitest';
import { Labels, MAX_LABEL_BYTES } from '../../src/core/labels.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('label registry', () => {
  const labels = new Labels();
  it('gives a name one id, found from its bytes or its string, in either order', () => {
    const line = bytes('{"model":"gpt-4o-mini"}');
    const fromBytes = labels.idOfBytes(line, 10, 21);
    expect(fromBytes).toBeGreaterThanOrEqual(0);
    expect(labels.name(fromBytes)).toBe('gpt-4o-mini');
    expect(labels.idOfString('gpt-4o-mini')).toBe(fromBytes);
    const fromString = labels.idOfString('claude-sonnet-x');
    expect(labels.idOfBytes(bytes('claude-sonnet-x'), 0, 15)).toBe(fromString);
    expect(labels.idOfBytes(bytes('claude-sonnet-y'), 0, 15)).not.toBe(fromString);
  });
  it('names with escapes or non-ASCII have ids by string only; over-long ones none from bytes', () => {
    const id = labels.idOfString('模型 "x"');
    expect(labels.name(id)).toBe('模型 "x"');
    expect(labels.idOfString('模型 "x"')).toBe(id);
    const long = 'm'.repeat(MAX_LABEL_BYTES + 1);
    expect(labels.idOfBytes(bytes(long), 0, long.length)).toBe(-1);
  });
  it('tells apart many names that share a prefix and length', () => {
    const ids = new Set<number>();
    for (let i = 0; i < 500; i++) ids.add(labels.idOfString(`agent-${String(i).padStart(4, '0')}`));
    expect(ids.size).toBe(500);
    for (let i = 0; i < 500; i++) {
      const name = `agent-${String(i).padStart(4, '0')}`;
      expect(labels.name(labels.idOfBytes(bytes(name), 0, name.length))).toBe(name);
    }
  });
});

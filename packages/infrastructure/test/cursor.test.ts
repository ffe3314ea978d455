import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, toPage } from '../src/cursor.js';
import { AppError } from '../src/errors.js';

const ID = '0b1e0c5e-5b1a-4c1e-9a51-2f1f7a3f0c11';

describe(encodeCursor.name, () => {
  it('round-trips a position through an opaque URL-safe string', () => {
    const position = { at: new Date('2030-05-06T07:08:09.123Z'), id: ID };

    const sut = encodeCursor(position);

    expect(sut).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(sut)).toEqual(position);
  });
});

describe(decodeCursor.name, () => {
  const raw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each([
    ['garbage', '%%%'],
    ['another shape', raw({ at: '2030-01-01T00:00:00Z', id: ID })],
    ['an invalid date', raw(['not a date', ID])],
    ['an id that is not a UUID', raw(['2030-01-01T00:00:00Z', 'abc'])],
    ['null', raw(null)],
  ])('refuses %s with VALIDATION_FAILED on the cursor', (_name, value) => {
    let thrown: unknown;
    try {
      decodeCursor(value);
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('VALIDATION_FAILED');
    expect((thrown as AppError).details).toEqual([{ path: 'cursor', code: 'invalid', message: 'Unknown cursor' }]);
  });
});

describe(toPage.name, () => {
  const rows = [1, 2, 3].map((n) => ({ n, at: new Date(Date.UTC(2030, 0, n)), id: ID }));
  const position = (r: (typeof rows)[number]) => ({ at: r.at, id: r.id });

  it('cuts the extra row and points the next cursor at the last row of the page', () => {
    const sut = toPage(rows, 2, position, (r) => r.n);

    expect(sut.items).toEqual([1, 2]);
    expect(decodeCursor(sut.nextCursor!)).toEqual({ at: rows[1]!.at, id: ID });
  });

  it('answers no next cursor on the last page', () => {
    expect(toPage(rows, 3, position, (r) => r.n)).toEqual({ items: [1, 2, 3], nextCursor: null });
    expect(toPage([], 3, position, (r: (typeof rows)[number]) => r.n)).toEqual({ items: [], nextCursor: null });
  });
});

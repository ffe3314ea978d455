import { describe, expect, it } from 'vitest';
import { allows, compilePath, toRouterPath } from '../src/route.js';

describe('compilePath', () => {
  const match = compilePath('/events/{id}/claims');
  it('extracts path params', () => {
    expect(match('/events/abc/claims')).toEqual({ id: 'abc' });
  });
  it('rejects other shapes', () => {
    expect(match('/events/abc')).toBeNull();
    expect(match('/events/a/b/claims')).toBeNull();
  });
  it('converts to router syntax', () => {
    expect(toRouterPath('/users/{id}/roles')).toBe('/api/v1/users/:id/roles');
  });
});

describe('allows', () => {
  it('applies the access levels', () => {
    expect(allows('public', undefined)).toBe(true);
    expect(allows('authenticated', undefined)).toBe(false);
    expect(allows('authenticated', ['USER'])).toBe(true);
    expect(allows(['ADMIN'], ['USER'])).toBe(false);
    expect(allows(['OPERATOR', 'ADMIN'], ['USER', 'OPERATOR'])).toBe(true);
  });
});

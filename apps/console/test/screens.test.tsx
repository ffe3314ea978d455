import type { Claim } from '@rewards/contracts';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/session';
import { ApiKeysScreen } from '../src/screens/api-keys.screen';
import { QueueScreen } from '../src/screens/queue.screen';
import { UsersScreen } from '../src/screens/users.screen';
import { renderWith } from './render';

const EVENT = '7a0c9f3e-0000-4000-8000-00000000000e';
const claim = (n: number): Claim => ({
  id: `7a0c9f3e-0000-4000-8000-00000000000${n}`,
  eventId: EVENT,
  userId: `1b0c9f3e-0000-4000-8000-00000000000${n}`,
  periodKey: 'ONCE',
  status: 'PENDING',
  reason: null,
  note: null,
  rewards: [
    { rewardId: '2b0c9f3e-0000-4000-8000-000000000001', type: 'POINT', name: 'Points', itemCode: null, quantity: 50 },
  ],
  createdAt: '2026-12-01T10:00:00.000Z',
  decidedAt: null,
  decidedBy: null,
});

/** A stand-in API: a handler per route id. */
const api = (handlers: Record<string, (opts: { body?: unknown }) => unknown>) =>
  vi.fn(async (id: string, opts: { body?: unknown } = {}) => {
    const handler = handlers[id];
    if (!handler) throw new Error(`unexpected call ${id}`);
    return handler(opts);
  });

describe('the approval queue', () => {
  it('approves the selection in one bulk decision and reports each refusal in words', async () => {
    const user = userEvent.setup();
    const pending = [claim(1), claim(2), claim(3)];
    const call = api({
      listEvents: () => ({ items: [{ id: EVENT, title: 'Weekend' }], nextCursor: null }),
      listClaims: () => ({ items: pending, nextCursor: null }),
      decideClaims: () => ({
        results: [
          { id: pending[0]!.id, status: 200, claim: { ...pending[0], status: 'APPROVED' } },
          {
            id: pending[1]!.id,
            status: 403,
            error: { code: 'FORBIDDEN', message: 'You cannot approve or reject your own claim' },
          },
        ],
      }),
    });
    renderWith(<QueueScreen />, { call });
    const table = await screen.findByRole('table');
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4));

    // Each row's checkbox is named after its claim; the first two rows are selected.
    const rows = within(table).getAllByRole('row').slice(1);
    for (const row of rows.slice(0, 2)) await user.click(within(row).getByRole('checkbox'));
    await user.click(screen.getByRole('button', { name: 'Approve selected (2)' }));

    await screen.findByText('1 decided, 1 refused.');
    expect(screen.getByText(/You cannot approve or reject your own claim/)).toBeTruthy();
    expect(call).toHaveBeenCalledWith('decideClaims', {
      body: { decision: 'APPROVE', ids: [pending[0]!.id, pending[1]!.id] },
    });
  });

  it('rejects only with a reason, sent as the note', async () => {
    const user = userEvent.setup();
    const pending = [claim(4)];
    const call = api({
      listEvents: () => ({ items: [], nextCursor: null }),
      listClaims: () => ({ items: pending, nextCursor: null }),
      decideClaims: () => ({ results: [{ id: pending[0]!.id, status: 200, claim: pending[0] }] }),
    });
    renderWith(<QueueScreen />, { call });
    await user.click(await screen.findByRole('button', { name: /^Reject the claim of/ }));
    const dialog = await screen.findByRole('dialog');
    const confirm = within(dialog).getByRole('button', { name: 'Reject' });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    await user.type(within(dialog).getByLabelText(/Reason/), 'Bot account');
    await user.click(confirm);
    await screen.findByText('1 decided, 0 refused.');
    expect(call).toHaveBeenCalledWith('decideClaims', {
      body: { decision: 'REJECT', ids: [pending[0]!.id], reason: 'Bot account' },
    });
  });
});

describe('API keys', () => {
  it('creates a key with scopes and shows it once, with a copy button', async () => {
    const user = userEvent.setup();
    const call = api({
      listApiKeys: () => ({ items: [], nextCursor: null }),
      createApiKey: ({ body }) => ({
        id: '3b0c9f3e-0000-4000-8000-000000000001',
        name: (body as { name: string }).name,
        scopes: (body as { scopes: string[] }).scopes,
        key: 'rk_live_secret_value',
        expiresAt: null,
        createdAt: '2026-12-01T10:00:00.000Z',
      }),
    });
    renderWith(<ApiKeysScreen />, { call });
    await screen.findByText('No API keys yet.');
    const form = screen.getByRole('form', { name: 'Create an API key' });
    await user.type(within(form).getByLabelText(/^Name/), 'game server');
    await user.click(within(form).getByLabelText(/grants:read/));
    await user.click(within(form).getByRole('button', { name: 'Create key' }));

    expect((await screen.findByLabelText('The new API key')).textContent).toBe('rk_live_secret_value');
    expect(screen.getByText(/shown only this once/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy' })).toBeTruthy();
    expect(call).toHaveBeenCalledWith('createApiKey', {
      body: { name: 'game server', scopes: ['activities:write', 'grants:read'] },
    });
    await user.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText('The new API key')).toBeNull();
  });

  it("shows the API's error on the field it names", async () => {
    const user = userEvent.setup();
    const call = api({
      listApiKeys: () => ({ items: [], nextCursor: null }),
      createApiKey: () => {
        throw new ApiError(400, 'VALIDATION_FAILED', 'Request is invalid', [
          { path: 'expiresAt', code: 'custom', message: 'must be in the future' },
        ]);
      },
    });
    renderWith(<ApiKeysScreen />, { call });
    const form = await screen.findByRole('form', { name: 'Create an API key' });
    await user.type(within(form).getByLabelText(/^Name/), 'old key');
    await user.click(within(form).getByRole('button', { name: 'Create key' }));
    expect(await within(form).findByText('must be in the future')).toBeTruthy();
    expect(within(form).getByText('The key was not created')).toBeTruthy();
  });
});

describe('users', () => {
  it('applies the filters together on search, the email trimmed, back on the first page', async () => {
    const user = userEvent.setup();
    const ana = {
      id: '3c0c9f3e-0000-4000-8000-000000000001',
      email: 'ana@example.com',
      displayName: 'Ana',
      roles: ['OPERATOR'],
      createdAt: '2026-12-01T10:00:00.000Z',
    };
    const queries: unknown[] = [];
    const call = api({
      listUsers: (opts) => {
        queries.push((opts as { query?: unknown }).query);
        return { items: [ana], nextCursor: 'page-2' };
      },
    });
    renderWith(<UsersScreen />, { call });
    await screen.findByText('ana@example.com');
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(queries).toHaveLength(2));
    // Editing the filters asks nothing until they are applied.
    await user.type(screen.getByLabelText('Email contains'), '  ana@example.com ');
    await user.selectOptions(screen.getByLabelText('Role'), 'OPERATOR');
    expect(queries).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() => expect(queries).toHaveLength(3));
    expect(queries).toEqual([
      { limit: 25, cursor: undefined, email: undefined, role: undefined },
      { limit: 25, cursor: 'page-2', email: undefined, role: undefined },
      { limit: 25, cursor: undefined, email: 'ana@example.com', role: 'OPERATOR' },
    ]);
  });
});

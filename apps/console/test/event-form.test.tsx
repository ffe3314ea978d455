import type { Event } from '@rewards/contracts';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/session';
import { EventForm, toBody } from '../src/screens/event-form.screen';
import { renderWith } from './render';

const saved: Event = {
  id: '7a0c9f3e-0000-4000-8000-000000000001',
  title: 'Spring login',
  description: null,
  startsAt: '2026-03-01T00:00:00.000Z',
  endsAt: '2026-03-08T00:00:00.000Z',
  timezone: 'Asia/Seoul',
  status: 'DRAFT',
  condition: { type: 'ALL', of: [{ type: 'LOGIN_DAYS', days: 1 }] },
  approval: 'AUTO',
  repeat: 'NONE',
  locked: false,
  createdBy: 'op',
  createdAt: '2026-02-01T00:00:00.000Z',
  updatedAt: '2026-02-01T00:00:00.000Z',
  rewards: [],
};

describe('the event form', () => {
  it('sends the period in the chosen zone (Asia/Seoul by default) with the built condition', async () => {
    const user = userEvent.setup();
    const call = vi.fn().mockResolvedValue({ event: saved });
    const onSaved = vi.fn();
    renderWith(<EventForm onSaved={onSaved} />, { call });

    expect((screen.getByRole('combobox', { name: 'Time zone' }) as HTMLInputElement).value).toBe('Asia/Seoul');
    await user.type(screen.getByLabelText(/^Title/), 'Spring login');
    const starts = screen.getByLabelText(/^Starts/);
    await user.clear(starts);
    await user.type(starts, '2026-03-01T09:00');
    const ends = screen.getByLabelText(/^Ends/);
    await user.clear(ends);
    await user.type(ends, '2026-03-08T09:00');
    await user.selectOptions(screen.getByLabelText('Approval'), 'MANUAL');
    await user.click(screen.getByRole('button', { name: 'Create event' }));

    await waitFor(() => expect(onSaved).toHaveBeenCalledWith(saved));
    expect(call).toHaveBeenCalledWith('createEvent', {
      body: {
        title: 'Spring login',
        description: null,
        startsAt: '2026-03-01T09:00:00+09:00',
        endsAt: '2026-03-08T09:00:00+09:00',
        approval: 'MANUAL',
        timezone: 'Asia/Seoul',
        repeat: 'NONE',
        condition: { type: 'ALL', of: [{ type: 'LOGIN_DAYS', days: 1 }] },
        status: 'DRAFT',
      },
    });
  });

  it("puts the API's validation errors on the fields they name, condition leaves included", async () => {
    const user = userEvent.setup();
    const call = vi.fn().mockRejectedValue(
      new ApiError(400, 'VALIDATION_FAILED', 'Request is invalid', [
        { path: 'title', code: 'too_small', message: 'Too small: expected string to have >=1 characters' },
        { path: 'condition.of.0.days', code: 'too_small', message: 'Too small: expected number to be >=1' },
        { path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' },
      ]),
    );
    renderWith(<EventForm />, { call });
    await user.click(screen.getByRole('button', { name: 'Create event' }));

    await screen.findByText('The event was not saved');
    expect(screen.getByText('Too small: expected string to have >=1 characters')).toBeTruthy();
    expect(screen.getByLabelText(/^Title/).getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('endsAt must be after startsAt')).toBeTruthy();
    const leaf = screen.getByRole('group', { name: 'Condition 1' });
    expect(within(leaf).getByText('Too small: expected number to be >=1')).toBeTruthy();
    expect(within(leaf).getByLabelText('Days').getAttribute('aria-invalid')).toBe('true');
  });

  it('leaves the frozen fields out once claims exist', () => {
    const body = toBody(
      {
        title: 'x',
        description: '',
        timezone: 'UTC',
        startsAt: '2026-03-01T00:00',
        endsAt: '2026-03-02T00:00',
        approval: 'AUTO',
        repeat: 'DAILY',
        status: 'DRAFT',
        condition: { type: 'LOGIN_DAYS', days: 1 },
      },
      true,
    );
    expect(body).toEqual({
      title: 'x',
      description: null,
      startsAt: '2026-03-01T00:00:00+00:00',
      endsAt: '2026-03-02T00:00:00+00:00',
      approval: 'AUTO',
    });
  });
});

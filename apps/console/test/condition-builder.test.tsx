import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import {
  ConditionBuilder,
  conditionIssues,
  describeCondition,
  nodeOfType,
  type DraftCondition,
} from '../src/components/condition-builder';
import i18next from 'i18next';

/** The builder with its state, exposing the current condition as the test reads it. */
function Harness({ initial, errors }: { initial: DraftCondition; errors?: Record<string, string> }) {
  const [value, setValue] = useState(initial);
  return (
    <MantineProvider>
      <ConditionBuilder value={value} onChange={setValue} errors={errors} />
      <output data-testid="value">{JSON.stringify(value)}</output>
    </MantineProvider>
  );
}
const current = () => JSON.parse(screen.getByTestId('value').textContent!);
const group = (name: string) => screen.getByRole('group', { name });

describe('the condition builder', () => {
  it('builds ALL(LOGIN_DAYS 1, ACTIVITY_COUNT QUEST_CLEARED 2) as a person would', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ type: 'LOGIN_STREAK', days: 3 }} />);
    // A leaf turned into a group keeps itself as the group's first condition.
    await user.selectOptions(within(group('Condition')).getByLabelText('Type'), 'ALL');
    expect(current()).toEqual({ type: 'ALL', of: [{ type: 'LOGIN_STREAK', days: 3 }] });

    await user.selectOptions(within(group('Condition 1')).getByLabelText('Type'), 'LOGIN_DAYS');
    const days = within(group('Condition 1')).getByLabelText('Days');
    await user.clear(days);
    await user.type(days, '1');
    await user.click(screen.getByRole('button', { name: 'Add condition to Condition' }));
    await user.selectOptions(within(group('Condition 2')).getByLabelText('Type'), 'ACTIVITY_COUNT');
    await user.type(within(group('Condition 2')).getByLabelText('Activity'), 'quest_cleared');
    const times = within(group('Condition 2')).getByLabelText('Times');
    await user.clear(times);
    await user.type(times, '2');

    expect(current()).toEqual({
      type: 'ALL',
      of: [
        { type: 'LOGIN_DAYS', days: 1 },
        { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 2 },
      ],
    });
    expect(describeCondition(current(), i18next.t)).toBe('All of (log in on 1 days; QUEST_CLEARED 2 times)');
  });

  it('nests groups, removes conditions, and names each node by its place', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ type: 'ANY', of: [{ type: 'LEVEL_REACHED', level: 30 }] }} />);
    await user.click(screen.getByRole('button', { name: 'Add group to Condition' }));
    await user.click(screen.getByRole('button', { name: 'Add condition to Condition 2' }));
    expect(screen.getByRole('group', { name: 'Condition 2.2' })).toBeTruthy();
    await user.selectOptions(within(group('Condition 2.2')).getByLabelText('Type'), 'INVITE_COUNT');
    expect(current()).toEqual({
      type: 'ANY',
      of: [
        { type: 'LEVEL_REACHED', level: 30 },
        {
          type: 'ALL',
          of: [
            { type: 'LOGIN_DAYS', days: 1 },
            { type: 'INVITE_COUNT', count: 1 },
          ],
        },
      ],
    });
    await user.click(screen.getByRole('button', { name: 'Remove Condition 1' }));
    expect(current()).toEqual({
      type: 'ANY',
      of: [
        {
          type: 'ALL',
          of: [
            { type: 'LOGIN_DAYS', days: 1 },
            { type: 'INVITE_COUNT', count: 1 },
          ],
        },
      ],
    });
  });

  it("shows the API's validation errors on the fields they name", () => {
    render(
      <Harness
        initial={{ type: 'ALL', of: [{ type: 'LOGIN_DAYS', days: 1 }, nodeOfType('ACTIVITY_SUM')] }}
        errors={{ 'of.1.activity': 'must be UPPER_SNAKE_CASE', 'of.1.sum': 'Too small: expected number to be >0' }}
      />,
    );
    const activity = within(group('Condition 2')).getByLabelText('Activity');
    expect(activity.getAttribute('aria-invalid')).toBe('true');
    expect(within(group('Condition 2')).getByText('must be UPPER_SNAKE_CASE')).toBeTruthy();
    expect(within(group('Condition 2')).getByText('Too small: expected number to be >0')).toBeTruthy();
    expect(within(group('Condition 1')).getByLabelText('Days').getAttribute('aria-invalid')).not.toBe('true');
  });

  it('shows the same condition as JSON, and takes edits made there', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ type: 'LOGIN_DAYS', days: 2 }} />);
    await user.click(screen.getByRole('tab', { name: 'JSON' }));
    const json = screen.getByLabelText('Condition as JSON') as HTMLTextAreaElement;
    expect(JSON.parse(json.value)).toEqual({ type: 'LOGIN_DAYS', days: 2 });

    fireEvent.change(json, { target: { value: '{"type":"LOGIN_STREAK",' } });
    expect(screen.getByText('This is not valid JSON yet.')).toBeTruthy();
    expect(current()).toEqual({ type: 'LOGIN_DAYS', days: 2 });

    fireEvent.change(json, { target: { value: '{"type":"LOGIN_STREAK","days":0}' } });
    expect(current()).toEqual({ type: 'LOGIN_STREAK', days: 0 });
    expect(screen.getByText(/days: Too small/)).toBeTruthy();

    await user.click(screen.getByRole('tab', { name: 'Builder' }));
    expect((within(group('Condition')).getByLabelText('Days in a row') as HTMLInputElement).value).toBe('0');
  });

  it('checks each node alone with the contract, naming the fields', () => {
    expect(
      conditionIssues({
        type: 'ALL',
        of: [{ type: 'LOGIN_DAYS' }, { type: 'ACTIVITY_COUNT', activity: 'quest', count: 2 }, { type: 'ANY', of: [] }],
      }),
    ).toEqual({
      'of.0.days': expect.any(String),
      'of.1.activity': 'must be UPPER_SNAKE_CASE',
      'of.2.of': 'a group holds 1 to 10 conditions',
    });
    expect(conditionIssues({ type: 'ALL', of: [{ type: 'LOGIN_DAYS', days: 1 }] })).toEqual({});
  });
});

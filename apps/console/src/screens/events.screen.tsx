import { Button, Group, NativeSelect, Stack, Table, Text, Title } from '@mantine/core';
import { EVENT_STATUSES, type Event, type EventStatus } from '@rewards/contracts';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { hasRole, useSession, useUser } from '../api/session-context';
import { describeCondition } from '../components/condition-builder';
import { DateTime, StatusBadge } from '../components/feedback';
import { QueryTable } from '../components/query-table';
import { Link } from '../router';

type Period = 'any' | 'running' | 'upcoming' | 'past';

export function inPeriod(e: Pick<Event, 'startsAt' | 'endsAt'>, period: Period, now = Date.now()): boolean {
  const start = Date.parse(e.startsAt);
  const end = Date.parse(e.endsAt);
  if (period === 'running') return start <= now && now < end;
  if (period === 'upcoming') return now < start;
  if (period === 'past') return end <= now;
  return true;
}

export function EventsScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const { user } = useUser();
  const [status, setStatus] = useState<EventStatus | ''>('');
  const [period, setPeriod] = useState<Period>('any');
  const events = useInfiniteQuery({
    queryKey: ['events', status],
    queryFn: ({ pageParam }) =>
      session.call('listEvents', { query: { limit: 50, status: status || undefined, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = (events.data?.pages.flatMap((p) => p.items) ?? []).filter((e) => inPeriod(e, period));

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          {t('events.title')}
        </Title>
        {hasRole(user, 'OPERATOR', 'ADMIN') && (
          <Button component={Link} to="/events/new">
            {t('events.new')}
          </Button>
        )}
      </Group>
      <Group>
        <NativeSelect
          label={t('events.statusFilter')}
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as EventStatus | '')}
          data={[
            { value: '', label: t('common.all') },
            ...EVENT_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
          ]}
        />
        <NativeSelect
          label={t('events.periodFilter')}
          value={period}
          onChange={(e) => setPeriod(e.currentTarget.value as Period)}
          data={(['any', 'running', 'upcoming', 'past'] as const).map((p) => ({
            value: p,
            label: t(`events.period.${p}`),
          }))}
        />
      </Group>
      <QueryTable
        query={events}
        empty={items.length === 0}
        emptyText={t('events.empty')}
        minWidth={700}
        highlightOnHover
        columns={[
          t('events.fields.title'),
          t('events.fields.status'),
          t('events.fields.period'),
          t('events.fields.approval'),
          t('events.fields.condition'),
        ]}
        after={
          events.hasNextPage && (
            <Button variant="default" onClick={() => void events.fetchNextPage()} loading={events.isFetchingNextPage}>
              {t('common.loadMore')}
            </Button>
          )
        }
      >
        {items.map((e) => (
          <Table.Tr key={e.id}>
            <Table.Td>
              <Link to={`/events/${e.id}`}>{e.title}</Link>
            </Table.Td>
            <Table.Td>
              <StatusBadge status={e.status} />
            </Table.Td>
            <Table.Td>
              <DateTime value={e.startsAt} /> – <DateTime value={e.endsAt} />
            </Table.Td>
            <Table.Td>{t(`events.approval.${e.approval}`)}</Table.Td>
            <Table.Td>
              <Text size="sm" lineClamp={2}>
                {describeCondition(e.condition, t)}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </QueryTable>
      <Text size="xs">{t('common.zoneNote')}</Text>
    </Stack>
  );
}

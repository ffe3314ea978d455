import {
  Button,
  Group,
  NativeSelect,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { CLAIM_REASONS, REWARD_TYPES, type Event, type EventStatus } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/session';
import { hasRole, useSession, useUser } from '../api/session-context';
import { describeCondition } from '../components/condition-builder';
import { ConfirmButton, DateTime, ErrorAlert, Loading, QueryState, StatusBadge } from '../components/feedback';
import { Link, useParams } from '../router';

/** The status moves the API allows from each status (DRAFT → ACTIVE ⇄ PAUSED → ENDED). */
export const MOVES: Record<EventStatus, { to: EventStatus; action: string }[]> = {
  DRAFT: [{ to: 'ACTIVE', action: 'activate' }],
  ACTIVE: [
    { to: 'PAUSED', action: 'pause' },
    { to: 'ENDED', action: 'end' },
  ],
  PAUSED: [
    { to: 'ACTIVE', action: 'activate' },
    { to: 'ENDED', action: 'end' },
  ],
  ENDED: [],
};

export function EventDetailScreen() {
  const { t } = useTranslation();
  const { id } = useParams();
  const session = useSession();
  const { user } = useUser();
  const queryClient = useQueryClient();
  const canEdit = hasRole(user, 'OPERATOR', 'ADMIN');
  const event = useQuery({
    queryKey: ['event', id],
    queryFn: () => session.call('getEvent', { params: { id: id! } }),
  });
  if (event.isLoading) return <Loading />;
  if (event.error || !event.data) return <ErrorAlert error={event.error} />;
  const e = event.data.event;

  const move = async (to: EventStatus) => {
    const res = await session.call('updateEvent', { params: { id: e.id }, body: { status: to } });
    queryClient.setQueryData(['event', e.id], res);
    await queryClient.invalidateQueries({ queryKey: ['events'] });
  };

  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Title order={1} size="h2">
            {e.title}
          </Title>
          <Group gap="xs">
            <StatusBadge status={e.status} />
            {e.locked && <Text size="sm">{t('eventDetail.locked')}</Text>}
          </Group>
        </Stack>
        {canEdit && (
          <Group gap="xs">
            {MOVES[e.status].map((m) => (
              <ConfirmButton
                key={m.to}
                label={t(`eventDetail.moves.${m.action}`)}
                title={t(`eventDetail.moves.${m.action}Title`, { title: e.title })}
                message={t(`eventDetail.moves.${m.action}Message`)}
                color={m.to === 'ENDED' ? 'red' : undefined}
                onConfirm={() => move(m.to)}
              />
            ))}
            {e.status !== 'ENDED' && (
              <Button component={Link} to={`/events/${e.id}/edit`} variant="default">
                {t('common.edit')}
              </Button>
            )}
          </Group>
        )}
      </Group>
      <EventFacts event={e} />
      <Rewards event={e} canEdit={canEdit} />
      <Stats eventId={e.id} />
      {canEdit && e.approval === 'MANUAL' && <Link to={`/queue?eventId=${e.id}`}>{t('eventDetail.openQueue')}</Link>}
    </Stack>
  );
}

function EventFacts({ event: e }: { event: Event }) {
  const { t } = useTranslation();
  return (
    <Paper withBorder p="md">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
        <Text size="sm">
          <b>{t('events.fields.period')}:</b> <DateTime value={e.startsAt} /> – <DateTime value={e.endsAt} />
        </Text>
        <Text size="sm">
          <b>{t('eventDetail.inEventZone', { zone: e.timezone })}:</b>{' '}
          <DateTime value={e.startsAt} timeZone={e.timezone} /> – <DateTime value={e.endsAt} timeZone={e.timezone} />
        </Text>
        <Text size="sm">
          <b>{t('events.fields.approval')}:</b> {t(`events.approval.${e.approval}`)}
        </Text>
        <Text size="sm">
          <b>{t('events.fields.repeat')}:</b> {t(`events.repeat.${e.repeat}`)}
        </Text>
      </SimpleGrid>
      {e.description && (
        <Text size="sm" mt="xs">
          {e.description}
        </Text>
      )}
      <Text size="sm" mt="xs">
        <b>{t('events.fields.condition')}:</b> {describeCondition(e.condition, t)}
      </Text>
    </Paper>
  );
}

interface RewardFields {
  type: (typeof REWARD_TYPES)[number];
  name: string;
  itemCode: string;
  quantity: number | '';
  stock: number | '';
}

function Rewards({ event, canEdit }: { event: Event; canEdit: boolean }) {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  // Remaining stock changes as players claim: kept live.
  const rewards = useQuery({
    queryKey: ['rewards', event.id],
    queryFn: () => session.call('listRewards', { params: { id: event.id } }),
    refetchInterval: 5_000,
  });
  const [failure, setFailure] = useState<unknown>(null);
  const form = useForm<RewardFields>({
    defaultValues: { type: 'POINT', name: '', itemCode: '', quantity: 1, stock: '' },
  });
  const { errors, isSubmitting } = form.formState;

  const add = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await session.call('createReward', {
        params: { id: event.id },
        body: {
          type: v.type,
          name: v.name,
          ...(v.itemCode.trim() ? { itemCode: v.itemCode } : {}),
          quantity: v.quantity === '' ? Number.NaN : v.quantity,
          stock: v.stock === '' ? null : v.stock,
        },
      });
      form.reset();
      await queryClient.invalidateQueries({ queryKey: ['rewards', event.id] });
      await queryClient.invalidateQueries({ queryKey: ['stats', event.id] });
    } catch (err) {
      if (err instanceof ApiError) {
        for (const [path, message] of Object.entries(err.fieldErrors())) {
          if (['type', 'name', 'itemCode', 'quantity', 'stock'].includes(path))
            form.setError(path as keyof RewardFields, { type: 'server', message });
        }
      }
      setFailure(err);
    }
  });

  const items = rewards.data?.items ?? [];
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="rewards-heading">
      <Title order={2} size="h3" id="rewards-heading" mb="sm">
        {t('rewards.title')}
      </Title>
      <QueryState
        isLoading={rewards.isLoading}
        error={rewards.error}
        empty={items.length === 0}
        emptyText={t('rewards.empty')}
      >
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('rewards.fields.name')}</Table.Th>
              <Table.Th>{t('rewards.fields.type')}</Table.Th>
              <Table.Th>{t('rewards.fields.itemCode')}</Table.Th>
              <Table.Th>{t('rewards.fields.quantity')}</Table.Th>
              <Table.Th>{t('rewards.fields.stock')}</Table.Th>
              <Table.Th>{t('rewards.fields.remaining')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td>{r.name}</Table.Td>
                <Table.Td>{t(`rewards.types.${r.type}`)}</Table.Td>
                <Table.Td>{r.itemCode ?? '—'}</Table.Td>
                <Table.Td>{r.quantity}</Table.Td>
                <Table.Td>{r.stock ?? t('rewards.unlimited')}</Table.Td>
                <Table.Td>{r.remaining ?? t('rewards.unlimited')}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </QueryState>
      {canEdit && event.status !== 'ENDED' && (
        <form onSubmit={add} noValidate aria-label={t('rewards.add')}>
          <Stack gap="xs" mt="md">
            <Text fw={600} size="sm">
              {t('rewards.add')}
            </Text>
            <ErrorAlert error={failure} title={t('rewards.notAdded')} />
            <Group align="flex-start" grow>
              <NativeSelect
                label={t('rewards.fields.type')}
                data={REWARD_TYPES.map((r) => ({ value: r, label: t(`rewards.types.${r}`) }))}
                error={errors.type?.message}
                {...form.register('type')}
              />
              <TextInput
                label={t('rewards.fields.name')}
                required
                error={errors.name?.message}
                {...form.register('name')}
              />
              <TextInput
                label={t('rewards.fields.itemCode')}
                error={errors.itemCode?.message}
                {...form.register('itemCode')}
              />
            </Group>
            <Group align="flex-start" grow>
              <Controller
                control={form.control}
                name="quantity"
                render={({ field }) => (
                  <NumberInput
                    label={t('rewards.fields.quantity')}
                    required
                    min={1}
                    allowDecimal={false}
                    value={field.value}
                    onChange={(v) => field.onChange(typeof v === 'number' ? v : '')}
                    error={errors.quantity?.message}
                  />
                )}
              />
              <Controller
                control={form.control}
                name="stock"
                render={({ field }) => (
                  <NumberInput
                    label={t('rewards.fields.stock')}
                    description={t('rewards.stockHint')}
                    min={1}
                    allowDecimal={false}
                    value={field.value}
                    onChange={(v) => field.onChange(typeof v === 'number' ? v : '')}
                    error={errors.stock?.message}
                  />
                )}
              />
            </Group>
            <Group>
              <Button type="submit" loading={isSubmitting}>
                {t('rewards.addButton')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Paper>
  );
}

function Stats({ eventId }: { eventId: string }) {
  const { t } = useTranslation();
  const session = useSession();
  const stats = useQuery({
    queryKey: ['stats', eventId],
    queryFn: () => session.call('eventStats', { params: { id: eventId } }),
    refetchInterval: 10_000,
  });
  const s = stats.data;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="stats-heading">
      <Title order={2} size="h3" id="stats-heading" mb="sm">
        {t('stats.title')}
      </Title>
      <QueryState isLoading={stats.isLoading} error={stats.error}>
        {s && (
          <SimpleGrid cols={{ base: 1, md: 3 }}>
            <Table aria-label={t('stats.byStatus')}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('stats.byStatus')}</Table.Th>
                  <Table.Th>{t('stats.count')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(['PENDING', 'APPROVED', 'REJECTED'] as const).map((k) => (
                  <Table.Tr key={k}>
                    <Table.Td>{t(`status.${k}`)}</Table.Td>
                    <Table.Td>{s.claims[k]}</Table.Td>
                  </Table.Tr>
                ))}
                <Table.Tr>
                  <Table.Td>{t('stats.players')}</Table.Td>
                  <Table.Td>{s.players}</Table.Td>
                </Table.Tr>
              </Table.Tbody>
            </Table>
            <Table aria-label={t('stats.byReason')}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('stats.byReason')}</Table.Th>
                  <Table.Th>{t('stats.count')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {CLAIM_REASONS.map((k) => (
                  <Table.Tr key={k}>
                    <Table.Td>{t(`reasons.${k}`)}</Table.Td>
                    <Table.Td>{s.reasons[k]}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Table aria-label={t('stats.stock')}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('rewards.fields.name')}</Table.Th>
                  <Table.Th>{t('rewards.fields.remaining')}</Table.Th>
                  <Table.Th>{t('stats.granted')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {s.rewards.map((r) => (
                  <Table.Tr key={r.rewardId}>
                    <Table.Td>{r.name}</Table.Td>
                    <Table.Td>
                      {r.stock === null
                        ? t('rewards.unlimited')
                        : t('stats.remainingOf', { remaining: r.remaining, stock: r.stock })}
                    </Table.Td>
                    <Table.Td>{r.granted}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </SimpleGrid>
        )}
      </QueryState>
    </Paper>
  );
}

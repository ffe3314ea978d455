import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  List,
  Progress as Bar,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import type { Claim, Condition, Event, ProgressNode } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DateTime, ErrorAlert, QueryState } from '../components/feedback';

/** One line per condition of the tree: "2 of 3 days", with the activity's name where it has one. */
export function progressLines(
  node: ProgressNode,
  condition: Condition,
  t: TFunction,
  depth = 0,
): { text: string; met: boolean; depth: number; ratio?: number }[] {
  if (condition.type === 'ALL' || condition.type === 'ANY') {
    const head = { text: t(`progress.${condition.type}`), met: node.met, depth };
    return [head, ...condition.of.flatMap((c, i) => (node.of?.[i] ? progressLines(node.of[i]!, c, t, depth + 1) : []))];
  }
  const current = node.current ?? 0;
  const required = node.required ?? 0;
  const activity = 'activity' in condition ? condition.activity : undefined;
  return [
    {
      text: t(`progress.${condition.type}`, { current, required, activity }),
      met: node.met,
      depth,
      ratio: required > 0 ? Math.min(1, current / required) : undefined,
    },
  ];
}

export function PlayerScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const events = useQuery({
    queryKey: ['events', 'ACTIVE', 'player'],
    queryFn: () => session.call('listEvents', { query: { status: 'ACTIVE', limit: 50 } }),
  });
  const items = events.data?.items ?? [];
  return (
    <Stack>
      <Title order={1} size="h2">
        {t('player.title')}
      </Title>
      <section aria-labelledby="active-heading">
        <Title order={2} size="h3" id="active-heading" mb="sm">
          {t('player.active')}
        </Title>
        <QueryState
          isLoading={events.isLoading}
          error={events.error}
          empty={items.length === 0}
          emptyText={t('player.noEvents')}
        >
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {items.map((e) => (
              <EventCard key={e.id} event={e} />
            ))}
          </SimpleGrid>
        </QueryState>
      </section>
      <MyRewards />
    </Stack>
  );
}

function EventCard({ event }: { event: Event }) {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [outcome, setOutcome] = useState<Claim | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const progress = useQuery({
    queryKey: ['progress', event.id],
    queryFn: () => session.call('progress', { params: { id: event.id } }),
    refetchInterval: 10_000,
  });
  const claim = outcome ?? progress.data?.claim ?? null;
  const headingId = `event-${event.id}`;

  const submit = async () => {
    setBusy(true);
    setFailure(null);
    try {
      const res = await session.call('createClaim', { params: { id: event.id } });
      setOutcome(res.claim);
      await queryClient.invalidateQueries({ queryKey: ['progress', event.id] });
      await queryClient.invalidateQueries({ queryKey: ['my-rewards'] });
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card withBorder component="article" aria-labelledby={headingId}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4" id={headingId}>
            {event.title}
          </Title>
          <Text size="xs">
            {t('player.until')} <DateTime value={event.endsAt} /> ({event.timezone})
          </Text>
        </Group>
        {event.description && <Text size="sm">{event.description}</Text>}
        <QueryState isLoading={progress.isLoading} error={progress.error}>
          {progress.data && (
            <List
              spacing={4}
              size="sm"
              listStyleType="none"
              aria-label={t('player.progressOf', { title: event.title })}
            >
              {progressLines(progress.data.condition, event.condition, t).map((line, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines follow the condition's fixed shape
                <List.Item key={i} style={{ paddingLeft: line.depth * 16 }}>
                  <Group gap="xs" wrap="nowrap">
                    <Badge size="xs" color={line.met ? 'green' : 'gray'}>
                      {line.met ? t('progress.met') : t('progress.notMet')}
                    </Badge>
                    <Text size="sm">{line.text}</Text>
                  </Group>
                  {line.ratio !== undefined && (
                    <Bar
                      value={line.ratio * 100}
                      size="sm"
                      mt={4}
                      aria-label={line.text}
                      color={line.met ? 'green' : 'blue'}
                    />
                  )}
                </List.Item>
              ))}
            </List>
          )}
        </QueryState>
        {claim && (
          <Alert
            color={claim.status === 'APPROVED' ? 'green' : claim.status === 'PENDING' ? 'yellow' : 'red'}
            title={t(`player.outcome.${claim.status}`)}
            role="status"
          >
            {claim.status === 'REJECTED' && claim.reason && <Text size="sm">{t(`reasons.${claim.reason}`)}</Text>}
            {claim.note && <Text size="sm">{claim.note}</Text>}
          </Alert>
        )}
        <ErrorAlert error={failure} title={t('player.claimFailed')} />
        {/* One claim per period: while one is pending or approved there is nothing to claim. */}
        {claim?.status !== 'APPROVED' && claim?.status !== 'PENDING' && (
          <Group>
            <Button
              onClick={() => void submit()}
              loading={busy}
              aria-label={t(claim ? 'player.claimAgainNamed' : 'player.claimNamed', { title: event.title })}
            >
              {claim ? t('player.claimAgain') : t('player.claim')}
            </Button>
          </Group>
        )}
      </Stack>
    </Card>
  );
}

function MyRewards() {
  const { t } = useTranslation();
  const session = useSession();
  const grants = useQuery({
    queryKey: ['my-rewards'],
    queryFn: () => session.call('myRewards', { query: { limit: 100 } }),
  });
  const items = grants.data?.items ?? [];
  return (
    <section aria-labelledby="my-rewards-heading">
      <Title order={2} size="h3" id="my-rewards-heading" mb="sm">
        {t('player.myRewards')}
      </Title>
      <QueryState
        isLoading={grants.isLoading}
        error={grants.error}
        empty={items.length === 0}
        emptyText={t('player.noRewards')}
      >
        <Table aria-labelledby="my-rewards-heading">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('rewards.fields.name')}</Table.Th>
              <Table.Th>{t('rewards.fields.type')}</Table.Th>
              <Table.Th>{t('rewards.fields.quantity')}</Table.Th>
              <Table.Th>{t('player.grantedAt')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((g) => (
              <Table.Tr key={g.id}>
                <Table.Td>{g.name}</Table.Td>
                <Table.Td>{t(`rewards.types.${g.type}`)}</Table.Td>
                <Table.Td>{g.quantity}</Table.Td>
                <Table.Td>
                  <DateTime value={g.grantedAt} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </QueryState>
    </section>
  );
}

import {
  Alert,
  Button,
  Checkbox,
  Group,
  List,
  Modal,
  NativeSelect,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import type { Claim, ClaimDecisionResult } from '@rewards/contracts';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DateTime, ErrorAlert } from '../components/feedback';
import { QueryTable } from '../components/query-table';
import { navigate, useLocation } from '../router';

/** Event titles by id, for lists of claims. */
export function useEventTitles() {
  const session = useSession();
  const events = useQuery({
    queryKey: ['events', 'titles'],
    queryFn: () => session.call('listEvents', { query: { limit: 100 } }),
    staleTime: 30_000,
  });
  const titles = new Map((events.data?.items ?? []).map((e) => [e.id, e.title]));
  return { titles, events: events.data?.items ?? [] };
}

export const rewardsText = (c: Claim) => c.rewards.map((r) => `${r.name} ×${r.quantity}`).join(', ') || '—';

export function QueueScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const { query } = useLocation();
  const eventId = query.get('eventId') ?? '';
  const { titles, events } = useEventTitles();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [rejecting, setRejecting] = useState<string[] | null>(null);
  const [reason, setReason] = useState('');
  const [results, setResults] = useState<ClaimDecisionResult[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const pending = useInfiniteQuery({
    queryKey: ['claims', 'pending', eventId],
    queryFn: ({ pageParam }) =>
      session.call('listClaims', {
        query: { status: 'PENDING', limit: 100, eventId: eventId || undefined, cursor: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: 15_000,
  });
  const items = pending.data?.pages.flatMap((p) => p.items) ?? [];
  const allSelected = items.length > 0 && items.every((c) => selected.has(c.id));

  const decide = async (decision: 'APPROVE' | 'REJECT', ids: string[], note?: string) => {
    setBusy(true);
    setFailure(null);
    try {
      const out: ClaimDecisionResult[] = [];
      // The API takes 100 ids a call.
      for (let i = 0; i < ids.length; i += 100) {
        const res = await session.call('decideClaims', {
          body: { decision, ids: ids.slice(i, i + 100), ...(note ? { reason: note } : {}) },
        });
        out.push(...res.results);
      }
      setResults(out);
      setSelected(new Set());
      setRejecting(null);
      setReason('');
      await queryClient.invalidateQueries({ queryKey: ['claims'] });
      await queryClient.invalidateQueries({ queryKey: ['stats'] });
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  const decided = results?.filter((r) => r.status === 200).length ?? 0;
  const refused = results?.filter((r) => r.status !== 200) ?? [];

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('queue.title')}
      </Title>
      <NativeSelect
        label={t('queue.eventFilter')}
        value={eventId}
        maw={420}
        onChange={(e) => {
          setSelected(new Set());
          navigate(e.currentTarget.value ? `/queue?eventId=${e.currentTarget.value}` : '/queue', { replace: true });
        }}
        data={[{ value: '', label: t('common.all') }, ...events.map((e) => ({ value: e.id, label: e.title }))]}
      />
      {results && (
        <Alert
          color={refused.length ? 'yellow' : 'green'}
          title={t('queue.resultTitle')}
          withCloseButton
          onClose={() => setResults(null)}
          role="status"
        >
          <Text size="sm">{t('queue.resultSummary', { decided, refused: refused.length })}</Text>
          {refused.length > 0 && (
            <List size="sm">
              {refused.map((r) => (
                <List.Item key={`${r.id}-${r.status}`}>
                  {r.id.slice(0, 8)}: {r.error?.message}
                </List.Item>
              ))}
            </List>
          )}
        </Alert>
      )}
      <ErrorAlert error={failure} />
      <Group>
        <Button disabled={selected.size === 0} loading={busy} onClick={() => void decide('APPROVE', [...selected])}>
          {t('queue.approveSelected', { count: selected.size })}
        </Button>
        <Button
          color="red"
          variant="outline"
          disabled={selected.size === 0}
          onClick={() => setRejecting([...selected])}
        >
          {t('queue.rejectSelected', { count: selected.size })}
        </Button>
      </Group>
      <QueryTable
        query={pending}
        empty={items.length === 0}
        emptyText={t('queue.empty')}
        minWidth={760}
        columns={[
          <Checkbox
            key="selectAll"
            aria-label={t('queue.selectAll')}
            checked={allSelected}
            indeterminate={selected.size > 0 && !allSelected}
            onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((c) => c.id)))}
          />,
          t('claims.fields.event'),
          t('claims.fields.user'),
          t('claims.fields.createdAt'),
          t('claims.fields.rewards'),
          t('queue.actions'),
        ]}
        after={
          pending.hasNextPage && (
            <Button variant="default" onClick={() => void pending.fetchNextPage()}>
              {t('common.loadMore')}
            </Button>
          )
        }
      >
        {items.map((c) => {
          const name = t('queue.claimName', {
            event: titles.get(c.eventId) ?? c.eventId,
            user: c.userId.slice(0, 8),
          });
          return (
            <Table.Tr key={c.id}>
              <Table.Td>
                <Checkbox
                  aria-label={t('queue.select', { name })}
                  checked={selected.has(c.id)}
                  onChange={(e) => {
                    const next = new Set(selected);
                    if (e.currentTarget.checked) next.add(c.id);
                    else next.delete(c.id);
                    setSelected(next);
                  }}
                />
              </Table.Td>
              <Table.Td>{titles.get(c.eventId) ?? c.eventId}</Table.Td>
              <Table.Td>
                <Text size="sm" ff="monospace">
                  {c.userId}
                </Text>
              </Table.Td>
              <Table.Td>
                <DateTime value={c.createdAt} />
              </Table.Td>
              <Table.Td>{rewardsText(c)}</Table.Td>
              <Table.Td>
                <Group gap={4} wrap="nowrap">
                  <Button
                    size="xs"
                    aria-label={t('queue.approveOne', { name })}
                    onClick={() => void decide('APPROVE', [c.id])}
                  >
                    {t('queue.approve')}
                  </Button>
                  <Button
                    size="xs"
                    color="red"
                    variant="outline"
                    aria-label={t('queue.rejectOne', { name })}
                    onClick={() => setRejecting([c.id])}
                  >
                    {t('queue.reject')}
                  </Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          );
        })}
      </QueryTable>
      <Modal
        opened={rejecting !== null}
        onClose={() => setRejecting(null)}
        title={t('queue.rejectTitle', { count: rejecting?.length ?? 0 })}
        centered
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (rejecting && reason.trim()) void decide('REJECT', rejecting, reason.trim());
          }}
        >
          <Stack>
            <Textarea
              label={t('queue.reason')}
              description={t('queue.reasonHint')}
              required
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              data-autofocus
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setRejecting(null)}>
                {t('common.cancel')}
              </Button>
              <Button type="submit" color="red" disabled={!reason.trim()} loading={busy}>
                {t('queue.confirmReject')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </Stack>
  );
}

import { Button, NativeSelect, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import type { Claim, ClaimStatus } from '@rewards/contracts';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DateTime, ErrorAlert, StatusBadge } from '../components/feedback';
import { download, FilterForm, Pager, useCursorPages, useDraftFilters } from '../components/paging';
import { QueryTable } from '../components/query-table';
import { toCsv, viewerZone, zonedToIso } from '../format';
import { rewardsText, useEventTitles } from './queue.screen';

interface Filters {
  eventId: string;
  userId: string;
  status: ClaimStatus | '';
  from: string;
  to: string;
}
const NONE: Filters = { eventId: '', userId: '', status: '', from: '', to: '' };
const PAGE = 25;
/** CSV export reads at most this many claims. */
export const EXPORT_LIMIT = 10_000;

const toQuery = (f: Filters) => ({
  eventId: f.eventId || undefined,
  userId: f.userId.trim() || undefined,
  status: f.status || undefined,
  from: f.from ? zonedToIso(f.from, viewerZone()) : undefined,
  to: f.to ? zonedToIso(f.to, viewerZone()) : undefined,
});

export function claimsCsv(claims: Claim[], titles: Map<string, string>): string {
  return toCsv(
    ['id', 'eventId', 'event', 'userId', 'status', 'reason', 'note', 'rewards', 'createdAt', 'decidedAt', 'decidedBy'],
    claims.map((c) => [
      c.id,
      c.eventId,
      titles.get(c.eventId) ?? '',
      c.userId,
      c.status,
      c.reason,
      c.note,
      rewardsText(c),
      c.createdAt,
      c.decidedAt,
      c.decidedBy,
    ]),
  );
}

export function ClaimsScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const { titles, events } = useEventTitles();
  const pages = useCursorPages();
  const { draft, filters, set, apply } = useDraftFilters(NONE, pages);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const claims = useQuery({
    queryKey: ['claims', 'history', filters, pages.cursor],
    queryFn: () => session.call('listClaims', { query: { ...toQuery(filters), limit: PAGE, cursor: pages.cursor } }),
  });
  const items = claims.data?.items ?? [];

  const exportCsv = async () => {
    setExporting(true);
    setExportError(null);
    try {
      const all: Claim[] = [];
      let cursor: string | undefined;
      do {
        const page = await session.call('listClaims', { query: { ...toQuery(filters), limit: 100, cursor } });
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && all.length < EXPORT_LIMIT);
      download(`claims-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`, claimsCsv(all, titles));
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  };

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('claims.title')}
      </Title>
      <FilterForm onApply={apply}>
        <NativeSelect
          label={t('claims.fields.event')}
          value={draft.eventId}
          onChange={set('eventId')}
          data={[{ value: '', label: t('common.all') }, ...events.map((e) => ({ value: e.id, label: e.title }))]}
        />
        <TextInput label={t('claims.fields.userId')} value={draft.userId} onChange={set('userId')} />
        <NativeSelect
          label={t('claims.fields.status')}
          value={draft.status}
          onChange={set('status')}
          data={[
            { value: '', label: t('common.all') },
            ...(['PENDING', 'APPROVED', 'REJECTED'] as const).map((s) => ({ value: s, label: t(`status.${s}`) })),
          ]}
        />
        <TextInput type="datetime-local" label={t('common.from')} value={draft.from} onChange={set('from')} />
        <TextInput type="datetime-local" label={t('common.to')} value={draft.to} onChange={set('to')} />
        <Button type="submit">{t('common.apply')}</Button>
        <Button variant="default" onClick={() => void exportCsv()} loading={exporting}>
          {t('claims.exportCsv')}
        </Button>
      </FilterForm>
      <ErrorAlert error={exportError} />
      <QueryTable
        query={claims}
        empty={items.length === 0}
        emptyText={t('claims.empty')}
        minWidth={900}
        columns={[
          t('claims.fields.createdAt'),
          t('claims.fields.event'),
          t('claims.fields.user'),
          t('claims.fields.status'),
          t('claims.fields.reason'),
          t('claims.fields.rewards'),
          t('claims.fields.decidedAt'),
        ]}
      >
        {items.map((c) => (
          <Table.Tr key={c.id}>
            <Table.Td>
              <DateTime value={c.createdAt} />
            </Table.Td>
            <Table.Td>{titles.get(c.eventId) ?? c.eventId}</Table.Td>
            <Table.Td>
              <Text size="xs" ff="monospace">
                {c.userId}
              </Text>
            </Table.Td>
            <Table.Td>
              <StatusBadge status={c.status} />
            </Table.Td>
            <Table.Td>
              {c.reason ? t(`reasons.${c.reason}`) : '—'}
              {c.note && <Text size="xs">{c.note}</Text>}
            </Table.Td>
            <Table.Td>{rewardsText(c)}</Table.Td>
            <Table.Td>
              <DateTime value={c.decidedAt} />
            </Table.Td>
          </Table.Tr>
        ))}
      </QueryTable>
      <Pager pages={pages} nextCursor={claims.data?.nextCursor} />
    </Stack>
  );
}

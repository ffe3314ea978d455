import { Alert, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DiffTable } from '../components/diff';
import { DateTime, ErrorAlert } from '../components/feedback';
import { FilterForm, Pager, useCursorPages, useDraftFilters } from '../components/paging';
import { QueryTable } from '../components/query-table';
import { viewerZone, zonedToIso } from '../format';

interface Filters {
  actorId: string;
  action: string;
  from: string;
  to: string;
}
const NONE: Filters = { actorId: '', action: '', from: '', to: '' };

export function AuditScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const pages = useCursorPages();
  const { draft, filters, set, apply } = useDraftFilters(NONE, pages);
  const log = useQuery({
    queryKey: ['audit', filters, pages.cursor],
    queryFn: () =>
      session.call('auditLog', {
        query: {
          limit: 25,
          cursor: pages.cursor,
          actorId: filters.actorId.trim() || undefined,
          action: filters.action.trim() || undefined,
          from: filters.from ? zonedToIso(filters.from, viewerZone()) : undefined,
          to: filters.to ? zonedToIso(filters.to, viewerZone()) : undefined,
        },
      }),
  });
  const verify = useQuery({
    queryKey: ['audit', 'verify'],
    queryFn: () => session.call('verifyAuditLog'),
    enabled: false,
    gcTime: 0,
  });
  const items = log.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          {t('audit.title')}
        </Title>
        <Button onClick={() => void verify.refetch()} loading={verify.isFetching}>
          {t('audit.verify')}
        </Button>
      </Group>
      {verify.error && <ErrorAlert error={verify.error} />}
      {verify.data && !verify.isFetching && (
        <Alert
          color={verify.data.valid ? 'green' : 'red'}
          title={verify.data.valid ? t('audit.valid') : t('audit.broken')}
          role="status"
        >
          {verify.data.valid
            ? t('audit.validDetail', { entries: verify.data.entries })
            : t('audit.brokenDetail', { entries: verify.data.entries, id: verify.data.firstBrokenId })}
        </Alert>
      )}
      <FilterForm onApply={apply}>
        <TextInput label={t('audit.actor')} value={draft.actorId} onChange={set('actorId')} />
        <TextInput
          label={t('audit.action')}
          placeholder="claim.approve"
          value={draft.action}
          onChange={set('action')}
        />
        <TextInput type="datetime-local" label={t('common.from')} value={draft.from} onChange={set('from')} />
        <TextInput type="datetime-local" label={t('common.to')} value={draft.to} onChange={set('to')} />
        <Button type="submit">{t('common.apply')}</Button>
      </FilterForm>
      <QueryTable
        query={log}
        empty={items.length === 0}
        emptyText={t('audit.empty')}
        minWidth={800}
        striped={false}
        columns={[t('audit.at'), t('audit.action'), t('audit.target'), t('audit.actor'), t('audit.changes')]}
      >
        {items.map((e) => {
          const expanded = open.has(e.id);
          const label = t('audit.changesOf', { action: e.action, target: e.targetId ?? e.targetType });
          return (
            <Fragment key={e.id}>
              <Table.Tr>
                <Table.Td>
                  <DateTime value={e.at} />
                </Table.Td>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {e.action}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs">
                    {e.targetType} {e.targetId}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace">
                    {e.actorId ?? '—'}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Button
                    size="xs"
                    variant="default"
                    aria-expanded={expanded}
                    aria-label={`${expanded ? t('audit.hide') : t('audit.show')}: ${label}`}
                    onClick={() => {
                      const next = new Set(open);
                      if (expanded) next.delete(e.id);
                      else next.add(e.id);
                      setOpen(next);
                    }}
                  >
                    {expanded ? t('audit.hide') : t('audit.show')}
                  </Button>
                </Table.Td>
              </Table.Tr>
              {expanded && (
                <Table.Tr>
                  <Table.Td colSpan={5}>
                    <DiffTable before={e.before} after={e.after} label={label} />
                    <Text size="xs" mt={4} ff="monospace">
                      {t('audit.hash')}: {e.hash} · {t('audit.requestId')}: {e.requestId ?? '—'}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              )}
            </Fragment>
          );
        })}
      </QueryTable>
      <Pager pages={pages} nextCursor={log.data?.nextCursor} />
    </Stack>
  );
}

import { Alert, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DiffTable } from '../components/diff';
import { DateTime, ErrorAlert, QueryState } from '../components/feedback';
import { useCursorPages } from '../components/paging';
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
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const pages = useCursorPages();
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
  const set = (k: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setDraft({ ...draft, [k]: e.currentTarget.value });

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
      <form
        aria-label={t('common.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setFilters(draft);
        }}
      >
        <Group align="flex-end">
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
        </Group>
      </form>
      <QueryState isLoading={log.isLoading} error={log.error} empty={items.length === 0} emptyText={t('audit.empty')}>
        <Table.ScrollContainer minWidth={800}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('audit.at')}</Table.Th>
                <Table.Th>{t('audit.action')}</Table.Th>
                <Table.Th>{t('audit.target')}</Table.Th>
                <Table.Th>{t('audit.actor')}</Table.Th>
                <Table.Th>{t('audit.changes')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
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
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
      <Group>
        <Button variant="default" disabled={pages.page === 1} onClick={pages.previous}>
          {t('common.previous')}
        </Button>
        <Text size="sm">{t('common.page', { page: pages.page })}</Text>
        <Button
          variant="default"
          disabled={!log.data?.nextCursor}
          onClick={() => log.data?.nextCursor && pages.next(log.data.nextCursor)}
        >
          {t('common.next')}
        </Button>
      </Group>
    </Stack>
  );
}

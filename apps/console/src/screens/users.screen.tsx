import { Button, Checkbox, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { ROLES, type Role, type User } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DateTime, ErrorAlert } from '../components/feedback';
import { FilterForm, Pager, useCursorPages, useDraftFilters } from '../components/paging';
import { QueryTable } from '../components/query-table';

const NONE = { email: '', role: '' };

export function UsersScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const pages = useCursorPages();
  const { draft, filters, set, apply } = useDraftFilters(NONE, pages);
  // An email pasted with a space around it still finds its user.
  const search = { email: filters.email.trim(), role: filters.role as Role | '' };
  const users = useQuery({
    queryKey: ['users', search, pages.cursor],
    queryFn: () =>
      session.call('listUsers', {
        query: { limit: 25, cursor: pages.cursor, email: search.email || undefined, role: search.role || undefined },
      }),
  });
  const items = users.data?.items ?? [];
  return (
    <Stack>
      <Title order={1} size="h2">
        {t('users.title')}
      </Title>
      <FilterForm onApply={apply}>
        <TextInput label={t('users.searchEmail')} value={draft.email} onChange={set('email')} />
        <NativeSelect
          label={t('users.role')}
          value={draft.role}
          onChange={set('role')}
          data={[{ value: '', label: t('common.all') }, ...ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))]}
        />
        <Button type="submit">{t('common.search')}</Button>
      </FilterForm>
      <QueryTable
        query={users}
        empty={items.length === 0}
        emptyText={t('users.empty')}
        minWidth={800}
        columns={[t('users.email'), t('users.displayName'), t('users.createdAt'), t('users.roles')]}
      >
        {items.map((u) => (
          <UserRow key={u.id} user={u} />
        ))}
      </QueryTable>
      <Pager pages={pages} nextCursor={users.data?.nextCursor} />
    </Stack>
  );
}

function UserRow({ user }: { user: User }) {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const changed = [...roles].sort().join() !== [...user.roles].sort().join();
  return (
    <Table.Tr>
      <Table.Td>{user.email}</Table.Td>
      <Table.Td>{user.displayName}</Table.Td>
      <Table.Td>
        <DateTime value={user.createdAt} />
      </Table.Td>
      <Table.Td>
        <Checkbox.Group
          value={roles}
          onChange={(v) => {
            setSaved(false);
            setRoles(v as Role[]);
          }}
          label={t('users.rolesOf', { email: user.email })}
          labelProps={{ className: 'visually-hidden' }}
        >
          <Group gap="sm" mt={2}>
            {ROLES.map((r) => (
              <Checkbox key={r} value={r} label={t(`roles.${r}`)} />
            ))}
          </Group>
        </Checkbox.Group>
        <Group gap="xs" mt={4}>
          <Button
            size="xs"
            disabled={!changed || roles.length === 0}
            loading={busy}
            aria-label={t('users.saveRolesOf', { email: user.email })}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await session.call('setRoles', { params: { id: user.id }, body: { roles } });
                setSaved(true);
                await queryClient.invalidateQueries({ queryKey: ['users'] });
              } catch (err) {
                setError(err);
              } finally {
                setBusy(false);
              }
            }}
          >
            {t('users.saveRoles')}
          </Button>
          {saved && (
            <Text size="xs" role="status">
              {t('users.rolesSaved')}
            </Text>
          )}
        </Group>
        <ErrorAlert error={error} />
      </Table.Td>
    </Table.Tr>
  );
}

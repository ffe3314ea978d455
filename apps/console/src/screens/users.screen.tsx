import { Button, Checkbox, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { ROLES, type Role, type User } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { DateTime, ErrorAlert, QueryState } from '../components/feedback';
import { useCursorPages } from '../components/paging';

export function UsersScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [search, setSearch] = useState({ email: '', role: '' as Role | '' });
  const pages = useCursorPages();
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
      <form
        aria-label={t('common.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setSearch({ email: email.trim(), role });
        }}
      >
        <Group align="flex-end">
          <TextInput label={t('users.searchEmail')} value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
          <NativeSelect
            label={t('users.role')}
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as Role | '')}
            data={[{ value: '', label: t('common.all') }, ...ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))]}
          />
          <Button type="submit">{t('common.search')}</Button>
        </Group>
      </form>
      <QueryState
        isLoading={users.isLoading}
        error={users.error}
        empty={items.length === 0}
        emptyText={t('users.empty')}
      >
        <Table.ScrollContainer minWidth={800}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('users.email')}</Table.Th>
                <Table.Th>{t('users.displayName')}</Table.Th>
                <Table.Th>{t('users.createdAt')}</Table.Th>
                <Table.Th>{t('users.roles')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((u) => (
                <UserRow key={u.id} user={u} />
              ))}
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
          disabled={!users.data?.nextCursor}
          onClick={() => users.data?.nextCursor && pages.next(users.data.nextCursor)}
        >
          {t('common.next')}
        </Button>
      </Group>
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

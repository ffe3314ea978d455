import { Checkbox, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { API_KEY_SCOPES, type ApiKeyCreated, type ApiKeyScope } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { CreateForm, SecretOnce, useCreate } from '../components/create-form';
import { ConfirmButton, DateTime } from '../components/feedback';
import { QueryTable } from '../components/query-table';
import { viewerZone, zonedToIso } from '../format';

interface KeyFields {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt: string;
}

export function ApiKeysScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: () => session.call('listApiKeys', { query: { limit: 100 } }),
  });
  const form = useForm<KeyFields>({ defaultValues: { name: '', scopes: ['activities:write'], expiresAt: '' } });
  const items = keys.data?.items ?? [];

  const { submit, failure, errors, isSubmitting } = useCreate(form, ['name', 'scopes', 'expiresAt'], async (v) => {
    const expiresAt = v.expiresAt ? zonedToIso(v.expiresAt, viewerZone()) : undefined;
    const res = await session.call('createApiKey', {
      body: { name: v.name, scopes: v.scopes, ...(expiresAt ? { expiresAt } : {}) },
    });
    setCreated(res);
    form.reset();
    await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
  });

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('apiKeys.title')}
      </Title>
      {created && (
        <SecretOnce
          title={t('apiKeys.created', { name: created.name })}
          label={t('apiKeys.theKey')}
          secret={created.key}
          onDone={() => setCreated(null)}
        />
      )}
      <CreateForm
        title={t('apiKeys.create')}
        failure={failure}
        failureTitle={t('apiKeys.notCreated')}
        submitLabel={t('apiKeys.createButton')}
        submitting={isSubmitting}
        onSubmit={submit}
      >
        <TextInput label={t('apiKeys.name')} required error={errors.name?.message} {...form.register('name')} />
        <Controller
          control={form.control}
          name="scopes"
          render={({ field }) => (
            <Checkbox.Group
              label={t('apiKeys.scopes')}
              value={field.value}
              onChange={field.onChange}
              error={errors.scopes?.message}
            >
              <Group mt={4}>
                {API_KEY_SCOPES.map((s) => (
                  <Checkbox key={s} value={s} label={`${s} — ${t(`apiKeys.scope.${s}`)}`} />
                ))}
              </Group>
            </Checkbox.Group>
          )}
        />
        <TextInput
          type="datetime-local"
          label={t('apiKeys.expiresAt')}
          description={t('apiKeys.expiresHint')}
          error={errors.expiresAt?.message}
          {...form.register('expiresAt')}
        />
      </CreateForm>
      <Title order={2} size="h3">
        {t('apiKeys.list')}
      </Title>
      <QueryTable
        query={keys}
        empty={items.length === 0}
        emptyText={t('apiKeys.empty')}
        minWidth={800}
        columns={[
          t('apiKeys.name'),
          t('apiKeys.scopes'),
          t('apiKeys.createdAt'),
          t('apiKeys.expiresAt'),
          t('apiKeys.lastUsedAt'),
          t('apiKeys.state'),
        ]}
      >
        {items.map((k) => (
          <Table.Tr key={k.id}>
            <Table.Td>{k.name}</Table.Td>
            <Table.Td>{k.scopes.join(', ')}</Table.Td>
            <Table.Td>
              <DateTime value={k.createdAt} />
            </Table.Td>
            <Table.Td>
              <DateTime value={k.expiresAt} />
            </Table.Td>
            <Table.Td>
              <DateTime value={k.lastUsedAt} />
            </Table.Td>
            <Table.Td>
              {k.revokedAt ? (
                <Text size="sm">
                  {t('apiKeys.revokedAt')} <DateTime value={k.revokedAt} />
                </Text>
              ) : (
                <ConfirmButton
                  label={t('apiKeys.revoke')}
                  title={t('apiKeys.revokeTitle', { name: k.name })}
                  message={t('apiKeys.revokeMessage')}
                  color="red"
                  onConfirm={async () => {
                    await session.call('revokeApiKey', { params: { id: k.id } });
                    await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
                  }}
                />
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </QueryTable>
    </Stack>
  );
}

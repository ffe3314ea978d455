import { Alert, Button, Checkbox, Code, CopyButton, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { API_KEY_SCOPES, type ApiKeyCreated, type ApiKeyScope } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/session';
import { useSession } from '../api/session-context';
import { ConfirmButton, DateTime, ErrorAlert, QueryState } from '../components/feedback';
import { viewerZone, zonedToIso } from '../format';

interface KeyFields {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt: string;
}

/** A secret shown once, with a copy button and the warning that it will not be shown again. */
export function SecretOnce({
  title,
  label,
  secret,
  onDone,
}: {
  title: string;
  label: string;
  secret: string;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Alert color="green" title={title} role="status">
      <Stack gap="xs">
        <Text size="sm">{t('common.shownOnce')}</Text>
        <Group gap="xs" wrap="nowrap">
          <Code aria-label={label} style={{ wordBreak: 'break-all' }}>
            {secret}
          </Code>
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button size="xs" variant="default" onClick={copy}>
                {copied ? t('common.copied') : t('common.copy')}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Group>
          <Button size="xs" variant="default" onClick={onDone}>
            {t('common.done')}
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

export function ApiKeysScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: () => session.call('listApiKeys', { query: { limit: 100 } }),
  });
  const form = useForm<KeyFields>({ defaultValues: { name: '', scopes: ['activities:write'], expiresAt: '' } });
  const { errors, isSubmitting } = form.formState;
  const items = keys.data?.items ?? [];

  const create = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      const expiresAt = v.expiresAt ? zonedToIso(v.expiresAt, viewerZone()) : undefined;
      const res = await session.call('createApiKey', {
        body: { name: v.name, scopes: v.scopes, ...(expiresAt ? { expiresAt } : {}) },
      });
      setCreated(res);
      form.reset();
      await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    } catch (err) {
      if (err instanceof ApiError) {
        for (const [path, message] of Object.entries(err.fieldErrors())) {
          const field = path.split('.')[0];
          if (field === 'name' || field === 'scopes' || field === 'expiresAt')
            form.setError(field, { type: 'server', message });
        }
      }
      setFailure(err);
    }
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
      <form onSubmit={create} noValidate aria-label={t('apiKeys.create')}>
        <Stack gap="xs" maw={640}>
          <Title order={2} size="h3">
            {t('apiKeys.create')}
          </Title>
          <ErrorAlert error={failure} title={t('apiKeys.notCreated')} />
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
          <Group>
            <Button type="submit" loading={isSubmitting}>
              {t('apiKeys.createButton')}
            </Button>
          </Group>
        </Stack>
      </form>
      <Title order={2} size="h3">
        {t('apiKeys.list')}
      </Title>
      <QueryState
        isLoading={keys.isLoading}
        error={keys.error}
        empty={items.length === 0}
        emptyText={t('apiKeys.empty')}
      >
        <Table.ScrollContainer minWidth={800}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('apiKeys.name')}</Table.Th>
                <Table.Th>{t('apiKeys.scopes')}</Table.Th>
                <Table.Th>{t('apiKeys.createdAt')}</Table.Th>
                <Table.Th>{t('apiKeys.expiresAt')}</Table.Th>
                <Table.Th>{t('apiKeys.lastUsedAt')}</Table.Th>
                <Table.Th>{t('apiKeys.state')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
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
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
    </Stack>
  );
}

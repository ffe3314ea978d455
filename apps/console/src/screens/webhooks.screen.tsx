import {
  Alert,
  Button,
  Checkbox,
  Group,
  NativeSelect,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import {
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_MESSAGE_TYPES,
  type Webhook,
  type WebhookDeliveryStatus,
  type WebhookMessageType,
} from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { CreateForm, SecretOnce, useCreate } from '../components/create-form';
import { ConfirmButton, DateTime, ErrorAlert, StatusBadge } from '../components/feedback';
import { QueryTable } from '../components/query-table';

interface HookFields {
  url: string;
  events: WebhookMessageType[];
  description: string;
}

export function WebhooksScreen() {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const hooks = useQuery({
    queryKey: ['webhooks'],
    queryFn: () => session.call('listWebhooks', { query: { limit: 100 } }),
  });
  const form = useForm<HookFields>({ defaultValues: { url: '', events: ['claim.approved'], description: '' } });
  const items = hooks.data?.items ?? [];

  const { submit, failure, errors, isSubmitting } = useCreate(form, ['url', 'events', 'description'], async (v) => {
    const res = await session.call('createWebhook', {
      body: { url: v.url.trim(), events: v.events, ...(v.description.trim() ? { description: v.description } : {}) },
    });
    setSecret({ url: res.webhook.url, secret: res.secret });
    setSelected(res.webhook.id);
    form.reset();
    await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  });

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('webhooks.title')}
      </Title>
      {secret && (
        <SecretOnce
          title={t('webhooks.created', { url: secret.url })}
          label={t('webhooks.theSecret')}
          secret={secret.secret}
          onDone={() => setSecret(null)}
        />
      )}
      <CreateForm
        title={t('webhooks.create')}
        failure={failure}
        failureTitle={t('webhooks.notCreated')}
        submitLabel={t('webhooks.createButton')}
        submitting={isSubmitting}
        onSubmit={submit}
      >
        <TextInput
          label={t('webhooks.url')}
          required
          placeholder="https://game.example.com/hooks/rewards"
          error={errors.url?.message}
          {...form.register('url')}
        />
        <Controller
          control={form.control}
          name="events"
          render={({ field }) => (
            <Checkbox.Group
              label={t('webhooks.events')}
              value={field.value}
              onChange={field.onChange}
              error={errors.events?.message}
            >
              <Group mt={4}>
                {WEBHOOK_MESSAGE_TYPES.filter((m) => m !== 'webhook.test').map((m) => (
                  <Checkbox key={m} value={m} label={m} />
                ))}
              </Group>
            </Checkbox.Group>
          )}
        />
        <TextInput
          label={t('webhooks.description')}
          error={errors.description?.message}
          {...form.register('description')}
        />
      </CreateForm>
      <Title order={2} size="h3">
        {t('webhooks.list')}
      </Title>
      <QueryTable
        query={hooks}
        empty={items.length === 0}
        emptyText={t('webhooks.empty')}
        minWidth={800}
        columns={[
          t('webhooks.url'),
          t('webhooks.events'),
          t('webhooks.state'),
          t('webhooks.createdAt'),
          t('queue.actions'),
        ]}
      >
        {items.map((h) => (
          <Table.Tr key={h.id}>
            <Table.Td>
              <Text size="sm" style={{ wordBreak: 'break-all' }}>
                {h.url}
              </Text>
              {h.description && <Text size="xs">{h.description}</Text>}
            </Table.Td>
            <Table.Td>{h.events.join(', ')}</Table.Td>
            <Table.Td>{h.active ? t('webhooks.active') : t('webhooks.inactive')}</Table.Td>
            <Table.Td>
              <DateTime value={h.createdAt} />
            </Table.Td>
            <Table.Td>
              <Group gap={4}>
                <Button
                  size="xs"
                  variant="default"
                  onClick={() => setSelected(h.id)}
                  aria-label={t('webhooks.deliveriesOf', { url: h.url })}
                >
                  {t('webhooks.deliveries')}
                </Button>
                <ConfirmButton
                  label={t('webhooks.delete')}
                  title={t('webhooks.deleteTitle', { url: h.url })}
                  message={t('webhooks.deleteMessage')}
                  color="red"
                  onConfirm={async () => {
                    await session.call('deleteWebhook', { params: { id: h.id } });
                    if (selected === h.id) setSelected(null);
                    await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
                  }}
                />
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </QueryTable>
      {selected && items.find((h) => h.id === selected) && <Deliveries hook={items.find((h) => h.id === selected)!} />}
    </Stack>
  );
}

function Deliveries({ hook }: { hook: Webhook }) {
  const { t } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<WebhookDeliveryStatus | ''>('');
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const deliveries = useQuery({
    queryKey: ['deliveries', hook.id, status],
    queryFn: () =>
      session.call('listWebhookDeliveries', {
        params: { id: hook.id },
        query: { limit: 50, status: status || undefined },
      }),
    refetchInterval: 3_000,
  });
  const items = deliveries.data?.items ?? [];
  const act = async (fn: () => Promise<string>) => {
    setFailure(null);
    try {
      setNotice(await fn());
      await queryClient.invalidateQueries({ queryKey: ['deliveries', hook.id] });
    } catch (err) {
      setFailure(err);
    }
  };
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="deliveries-heading">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={2} size="h3" id="deliveries-heading">
            {t('webhooks.deliveriesTitle', { url: hook.url })}
          </Title>
          <Button
            onClick={() =>
              void act(async () => {
                const res = await session.call('testWebhook', { params: { id: hook.id } });
                return t('webhooks.testSent', { id: res.messageId });
              })
            }
          >
            {t('webhooks.test')}
          </Button>
        </Group>
        {notice && (
          <Alert color="blue" role="status" withCloseButton onClose={() => setNotice(null)}>
            {notice}
          </Alert>
        )}
        <ErrorAlert error={failure} />
        <NativeSelect
          label={t('webhooks.statusFilter')}
          value={status}
          maw={240}
          onChange={(e) => setStatus(e.currentTarget.value as WebhookDeliveryStatus | '')}
          data={[
            { value: '', label: t('common.all') },
            ...WEBHOOK_DELIVERY_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
          ]}
        />
        <QueryTable
          query={deliveries}
          empty={items.length === 0}
          emptyText={t('webhooks.noDeliveries')}
          minWidth={800}
          labelledBy="deliveries-heading"
          columns={[
            t('webhooks.type'),
            t('webhooks.status'),
            t('webhooks.attempts'),
            t('webhooks.lastAttempt'),
            t('webhooks.nextAttempt'),
            t('queue.actions'),
          ]}
        >
          {items.map((d) => (
            <Table.Tr key={d.messageId}>
              <Table.Td>
                <Text size="sm" ff="monospace">
                  {d.type}
                </Text>
              </Table.Td>
              <Table.Td>
                <StatusBadge status={d.status} />
              </Table.Td>
              <Table.Td>{d.attempts}</Table.Td>
              <Table.Td>
                <DateTime value={d.lastAttemptAt} />
                {d.lastResponseStatus !== null && <Text size="xs">HTTP {d.lastResponseStatus}</Text>}
                {d.lastError && <Text size="xs">{d.lastError}</Text>}
              </Table.Td>
              <Table.Td>
                <DateTime value={d.nextAttemptAt} />
              </Table.Td>
              <Table.Td>
                {d.status !== 'DELIVERED' && (
                  <Button
                    size="xs"
                    variant="default"
                    onClick={() =>
                      void act(async () => {
                        await session.call('retryWebhookDelivery', {
                          params: { id: hook.id, messageId: d.messageId },
                        });
                        return t('webhooks.retried');
                      })
                    }
                  >
                    {t('webhooks.retry')}
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </QueryTable>
      </Stack>
    </Paper>
  );
}

import { Alert, Badge, Button, Center, Group, Loader, Modal, Stack, Text } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/session';
import { formatDateTime } from '../format';

/** An error in words: the API's own message (and code), or what went wrong on the way. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" title={title ?? t('common.error')} role="alert">
      <Text size="sm">{message}</Text>
      {error instanceof ApiError && (
        <Text size="xs" mt={4}>
          {t('common.errorCode', { code: error.code, status: error.status })}
        </Text>
      )}
    </Alert>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <Center py="lg" role="status" aria-live="polite">
      <Group gap="xs">
        <Loader size="sm" aria-hidden />
        <Text size="sm">{label ?? t('common.loading')}</Text>
      </Group>
    </Center>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Center py="lg">
      <Text size="sm">{children}</Text>
    </Center>
  );
}

/** Loading, error or empty, else the content. */
export function QueryState({
  isLoading,
  error,
  empty,
  emptyText,
  children,
}: {
  isLoading: boolean;
  error: unknown;
  empty?: boolean;
  emptyText?: string;
  children: ReactNode;
}) {
  if (isLoading) return <Loading />;
  if (error) return <ErrorAlert error={error} />;
  if (empty) return <Empty>{emptyText}</Empty>;
  return <>{children}</>;
}

const STATUS_COLORS: Record<string, string> = {
  DRAFT: 'gray',
  ACTIVE: 'green',
  PAUSED: 'yellow',
  ENDED: 'dark',
  PENDING: 'yellow',
  APPROVED: 'green',
  REJECTED: 'red',
  DELIVERED: 'green',
  FAILED: 'red',
};

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  return <Badge color={STATUS_COLORS[status] ?? 'gray'}>{t(`status.${status}`, { defaultValue: status })}</Badge>;
}

export function DateTime({ value, timeZone }: { value: string | null | undefined; timeZone?: string }) {
  const { i18n } = useTranslation();
  if (!value) return <>—</>;
  return (
    <time dateTime={value} title={value}>
      {formatDateTime(value, i18n.language, timeZone)}
    </time>
  );
}

/** A button that asks first: the action runs only once the person confirms it in a dialog. */
export function ConfirmButton({
  label,
  title,
  message,
  confirmLabel,
  onConfirm,
  color,
  disabled,
}: {
  label: string;
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  color?: string;
  disabled?: boolean;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Button color={color} variant="outline" onClick={() => setOpen(true)} disabled={disabled}>
        {label}
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={title} centered>
        <Stack>
          <Text size="sm">{message}</Text>
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              {t('common.cancel')}
            </Button>
            <Button
              color={color}
              loading={busy}
              onClick={async () => {
                setBusy(true);
                setError(null);
                try {
                  await onConfirm();
                  setOpen(false);
                } catch (err) {
                  setError(err);
                } finally {
                  setBusy(false);
                }
              }}
            >
              {confirmLabel ?? label}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

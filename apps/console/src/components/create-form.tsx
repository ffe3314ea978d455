import { Alert, Button, Code, CopyButton, Group, Stack, Text, Title } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import type { FieldValues, Path, UseFormReturn } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/session';
import { ErrorAlert } from './feedback';

/**
 * Submits a form to the API. A refusal puts the API's field errors (by the first part of their path) on the
 * fields named, and is kept as `failure` for the form's alert.
 */
export function useCreate<T extends FieldValues>(
  form: UseFormReturn<T>,
  fields: readonly Path<T>[],
  send: (values: T) => Promise<void>,
) {
  const [failure, setFailure] = useState<unknown>(null);
  const submit = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await send(v);
    } catch (err) {
      if (err instanceof ApiError) {
        for (const [path, message] of Object.entries(err.fieldErrors())) {
          const field = fields.find((f) => f === path.split('.')[0]);
          if (field) form.setError(field, { type: 'server', message });
        }
      }
      setFailure(err);
    }
  });
  return { submit, failure, errors: form.formState.errors, isSubmitting: form.formState.isSubmitting };
}

/** A form that creates something: a heading, the refusal if any, the fields and the submit button. */
export function CreateForm({
  title,
  failure,
  failureTitle,
  submitLabel,
  submitting,
  onSubmit,
  children,
}: {
  title: string;
  failure: unknown;
  failureTitle: string;
  submitLabel: string;
  submitting: boolean;
  onSubmit: () => void;
  children: ReactNode;
}) {
  return (
    <form onSubmit={onSubmit} noValidate aria-label={title}>
      <Stack gap="xs" maw={640}>
        <Title order={2} size="h3">
          {title}
        </Title>
        <ErrorAlert error={failure} title={failureTitle} />
        {children}
        <Group>
          <Button type="submit" loading={submitting}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
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

import { Button, Group, NativeSelect, Paper, Select, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import type { Condition, Event, UpdateEventBody } from '@rewards/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/session';
import { useSession } from '../api/session-context';
import {
  ConditionBuilder,
  conditionIssues,
  emptyCondition,
  type DraftCondition,
} from '../components/condition-builder';
import { ErrorAlert, Loading } from '../components/feedback';
import { formatDateTime, isoToZoned, timeZones, zonedToIso } from '../format';
import { navigate, useParams } from '../router';

export const DEFAULT_TIMEZONE = 'Asia/Seoul';

export interface EventFields {
  title: string;
  description: string;
  timezone: string;
  startsAt: string;
  endsAt: string;
  approval: 'AUTO' | 'MANUAL';
  repeat: 'NONE' | 'DAILY' | 'WEEKLY';
  status: 'DRAFT' | 'ACTIVE';
  condition: DraftCondition;
}

const FORM_FIELDS = ['title', 'description', 'timezone', 'startsAt', 'endsAt', 'approval', 'repeat', 'status'] as const;

export function defaultsFor(event?: Event, now = Date.now()): EventFields {
  if (event) {
    return {
      title: event.title,
      description: event.description ?? '',
      timezone: event.timezone,
      startsAt: isoToZoned(event.startsAt, event.timezone),
      endsAt: isoToZoned(event.endsAt, event.timezone),
      approval: event.approval,
      repeat: event.repeat,
      status: event.status === 'ACTIVE' ? 'ACTIVE' : 'DRAFT',
      condition: event.condition as DraftCondition,
    };
  }
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  return {
    title: '',
    description: '',
    timezone: DEFAULT_TIMEZONE,
    startsAt: isoToZoned(new Date(hour).toISOString(), DEFAULT_TIMEZONE),
    endsAt: isoToZoned(new Date(hour + 7 * 86_400_000).toISOString(), DEFAULT_TIMEZONE),
    approval: 'AUTO',
    repeat: 'NONE',
    status: 'DRAFT',
    condition: emptyCondition(),
  };
}

/** The request body the form's values make: times in the chosen zone, an empty description as none. */
export function toBody(v: EventFields, locked = false) {
  const body = {
    title: v.title,
    description: v.description.trim() ? v.description : null,
    startsAt: zonedToIso(v.startsAt, v.timezone) ?? v.startsAt,
    endsAt: zonedToIso(v.endsAt, v.timezone) ?? v.endsAt,
    approval: v.approval,
    ...(locked ? {} : { timezone: v.timezone, repeat: v.repeat, condition: v.condition as Condition }),
  };
  return body;
}

/** The API's validation issues split: those of the form's own fields, those inside the condition, the rest. */
export function splitErrors(err: ApiError) {
  const fields: Record<string, string> = {};
  const condition: Record<string, string> = {};
  const other: string[] = [];
  for (const [path, message] of Object.entries(err.fieldErrors())) {
    if (path === 'condition' || path.startsWith('condition.')) condition[path.slice('condition.'.length)] = message;
    else if ((FORM_FIELDS as readonly string[]).includes(path)) fields[path] = message;
    else other.push(path ? `${path}: ${message}` : message);
  }
  return { fields, condition, other };
}

export function EventFormScreen() {
  const { id } = useParams();
  const session = useSession();
  const existing = useQuery({
    queryKey: ['event', id],
    queryFn: () => session.call('getEvent', { params: { id: id! } }),
    enabled: !!id,
  });
  if (id && existing.isLoading) return <Loading />;
  if (id && existing.error) return <ErrorAlert error={existing.error} />;
  return <EventForm event={existing.data?.event} />;
}

export function EventForm({ event, onSaved }: { event?: Event; onSaved?: (e: Event) => void }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const zones = useMemo(() => timeZones(), []);
  const [conditionErrors, setConditionErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const locked = event?.locked ?? false;
  const {
    register,
    control,
    handleSubmit,
    setError,
    watch,
    formState: { errors, isSubmitting },
  } = useForm<EventFields>({ defaultValues: defaultsFor(event) });
  const zone = watch('timezone');
  const preview = (local: string) => {
    const iso = zone ? zonedToIso(local, zone) : undefined;
    return iso ? t('eventForm.inYourZone', { time: formatDateTime(iso, i18n.language) }) : undefined;
  };

  const submit = handleSubmit(async (values) => {
    setFailure(null);
    setConditionErrors({});
    try {
      let saved: Event;
      if (event) {
        const body: UpdateEventBody = toBody(values, locked);
        saved = (await session.call('updateEvent', { params: { id: event.id }, body })).event;
      } else {
        saved = (await session.call('createEvent', { body: { ...toBody(values), status: values.status } })).event;
      }
      await queryClient.invalidateQueries({ queryKey: ['events'] });
      queryClient.setQueryData(['event', saved.id], { event: saved });
      if (onSaved) onSaved(saved);
      else navigate(`/events/${saved.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
        const split = splitErrors(err);
        for (const [name, message] of Object.entries(split.fields)) {
          setError(name as keyof EventFields, { type: 'server', message });
        }
        // A condition the API could only call invalid as a whole: each node checked alone names the fields.
        const local = split.condition[''] !== undefined ? conditionIssues(values.condition) : {};
        setConditionErrors(Object.keys(local).length ? local : split.condition);
        setFailure(
          new ApiError(err.status, err.code, [t('eventForm.fixFields'), ...split.other].join(' '), err.details),
        );
      } else setFailure(err);
    }
  });

  return (
    <form onSubmit={submit} noValidate>
      <Stack maw={860}>
        <Title order={1} size="h2">
          {event ? t('eventForm.editTitle', { title: event.title }) : t('eventForm.newTitle')}
        </Title>
        <ErrorAlert error={failure} title={t('eventForm.notSaved')} />
        <TextInput label={t('events.fields.title')} required error={errors.title?.message} {...register('title')} />
        <Textarea
          label={t('events.fields.description')}
          autosize
          minRows={2}
          error={errors.description?.message}
          {...register('description')}
        />
        <Paper withBorder p="sm">
          <Stack gap="xs">
            <Text fw={600} size="sm">
              {t('eventForm.period')}
            </Text>
            <Controller
              control={control}
              name="timezone"
              render={({ field }) => (
                <Select
                  label={t('events.fields.timezone')}
                  description={t('eventForm.timezoneHint')}
                  searchable
                  data={zones}
                  value={field.value}
                  onChange={(v) => field.onChange(v ?? DEFAULT_TIMEZONE)}
                  error={errors.timezone?.message}
                  disabled={locked}
                  limit={50}
                  allowDeselect={false}
                />
              )}
            />
            <Group grow align="flex-start">
              <TextInput
                type="datetime-local"
                label={t('events.fields.startsAt')}
                description={preview(watch('startsAt'))}
                required
                error={errors.startsAt?.message}
                {...register('startsAt')}
              />
              <TextInput
                type="datetime-local"
                label={t('events.fields.endsAt')}
                description={preview(watch('endsAt'))}
                required
                error={errors.endsAt?.message}
                {...register('endsAt')}
              />
            </Group>
          </Stack>
        </Paper>
        <Group grow align="flex-start">
          <NativeSelect
            label={t('events.fields.approval')}
            data={(['AUTO', 'MANUAL'] as const).map((a) => ({ value: a, label: t(`events.approval.${a}`) }))}
            error={errors.approval?.message}
            {...register('approval')}
          />
          <NativeSelect
            label={t('events.fields.repeat')}
            data={(['NONE', 'DAILY', 'WEEKLY'] as const).map((r) => ({ value: r, label: t(`events.repeat.${r}`) }))}
            error={errors.repeat?.message}
            disabled={locked}
            {...register('repeat')}
          />
          {!event && (
            <NativeSelect
              label={t('eventForm.initialStatus')}
              data={(['DRAFT', 'ACTIVE'] as const).map((s) => ({ value: s, label: t(`status.${s}`) }))}
              error={errors.status?.message}
              {...register('status')}
            />
          )}
        </Group>
        <Paper withBorder p="sm">
          <Stack gap="xs">
            <Text fw={600} size="sm" id="condition-heading">
              {t('events.fields.condition')}
            </Text>
            {locked && <Text size="sm">{t('eventForm.lockedNote')}</Text>}
            <Controller
              control={control}
              name="condition"
              render={({ field }) => (
                <ConditionBuilder
                  value={field.value}
                  onChange={field.onChange}
                  errors={conditionErrors}
                  disabled={locked}
                />
              )}
            />
          </Stack>
        </Paper>
        <Group>
          <Button type="submit" loading={isSubmitting}>
            {event ? t('common.save') : t('eventForm.create')}
          </Button>
          <Button variant="default" onClick={() => navigate(event ? `/events/${event.id}` : '/events')}>
            {t('common.cancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

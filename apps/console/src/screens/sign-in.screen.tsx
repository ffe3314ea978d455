import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session-context';
import { ErrorAlert } from '../components/feedback';
import { LanguagePicker } from '../components/language-picker';

interface Fields {
  email: string;
  password: string;
}

export function SignInScreen({ onSignedIn }: { onSignedIn?: () => void }) {
  const { t } = useTranslation();
  const session = useSession();
  const [error, setError] = useState<unknown>(null);
  const {
    register,
    handleSubmit,
    formState: { errors, isSubmitting },
  } = useForm<Fields>({ defaultValues: { email: '', password: '' } });

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={380} maw="100%">
        <form
          noValidate
          onSubmit={handleSubmit(async ({ email, password }) => {
            setError(null);
            try {
              await session.signIn(email, password);
              onSignedIn?.();
            } catch (err) {
              setError(err);
            }
          })}
        >
          <Stack>
            <Title order={1} size="h2">
              {t('signIn.title')}
            </Title>
            <ErrorAlert error={error} title={t('signIn.failed')} />
            <TextInput
              label={t('signIn.email')}
              type="email"
              autoComplete="username"
              required
              error={errors.email?.message}
              {...register('email', { required: t('common.required') })}
            />
            <PasswordInput
              label={t('signIn.password')}
              autoComplete="current-password"
              required
              error={errors.password?.message}
              {...register('password', { required: t('common.required') })}
            />
            <Button type="submit" loading={isSubmitting}>
              {t('signIn.submit')}
            </Button>
            <LanguagePicker />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

import { AppShell, Burger, Button, Group, NavLink, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { Role } from '@rewards/contracts';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, type ComponentType } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession, useUser } from './api/session-context';
import { Loading } from './components/feedback';
import { LanguagePicker } from './components/language-picker';
import { Link, match, navigate, ParamsProvider, useLocation } from './router';
import { ApiKeysScreen } from './screens/api-keys.screen';
import { AuditScreen } from './screens/audit.screen';
import { ClaimsScreen } from './screens/claims.screen';
import { EventDetailScreen } from './screens/event-detail.screen';
import { EventFormScreen } from './screens/event-form.screen';
import { EventsScreen } from './screens/events.screen';
import { PlayerScreen } from './screens/player.screen';
import { QueueScreen } from './screens/queue.screen';
import { SignInScreen } from './screens/sign-in.screen';
import { UsersScreen } from './screens/users.screen';
import { WebhooksScreen } from './screens/webhooks.screen';

const OPERATORS: Role[] = ['OPERATOR', 'ADMIN'];
const STAFF: Role[] = ['OPERATOR', 'AUDITOR', 'ADMIN'];
const AUDITORS: Role[] = ['AUDITOR', 'ADMIN'];
const ADMINS: Role[] = ['ADMIN'];

interface Screen {
  path: string;
  component: ComponentType;
  /** Who may open it; anyone signed in when absent. */
  roles?: Role[];
  /** Its place in the navigation (key of its label), if it has one. */
  nav?: string;
}

/** Every screen, with who may see it: the navigation shows only what the user's roles allow. */
export const SCREENS: Screen[] = [
  { path: '/events', component: EventsScreen, roles: STAFF, nav: 'nav.events' },
  { path: '/events/new', component: EventFormScreen, roles: OPERATORS },
  { path: '/events/:id/edit', component: EventFormScreen, roles: OPERATORS },
  { path: '/events/:id', component: EventDetailScreen, roles: STAFF },
  { path: '/queue', component: QueueScreen, roles: OPERATORS, nav: 'nav.queue' },
  { path: '/claims', component: ClaimsScreen, roles: STAFF, nav: 'nav.claims' },
  { path: '/audit', component: AuditScreen, roles: AUDITORS, nav: 'nav.audit' },
  { path: '/users', component: UsersScreen, roles: ADMINS, nav: 'nav.users' },
  { path: '/api-keys', component: ApiKeysScreen, roles: ADMINS, nav: 'nav.apiKeys' },
  { path: '/webhooks', component: WebhooksScreen, roles: ADMINS, nav: 'nav.webhooks' },
  { path: '/play', component: PlayerScreen, nav: 'nav.play' },
];

export const allowedScreens = (roles: readonly Role[]) =>
  SCREENS.filter((s) => !s.roles || s.roles.some((r) => roles.includes(r)));

/** Where a user lands: the first screen in the navigation their roles allow. */
export const homeOf = (roles: readonly Role[]) => allowedScreens(roles).find((s) => s.nav)?.path ?? '/play';

export function App() {
  const { user, restoring } = useUser();
  const { path } = useLocation();
  const queryClient = useQueryClient();

  // Signed out (or the session ended): nothing cached from that user stays.
  useEffect(() => {
    if (!user && !restoring) queryClient.clear();
  }, [user, restoring, queryClient]);

  if (restoring) return <Loading />;
  if (!user) {
    return (
      <SignInScreen
        onSignedIn={() => {
          if (path === '/' || path === '/sign-in') navigate('/', { replace: true });
        }}
      />
    );
  }
  return <Shell />;
}

function Shell() {
  const { t } = useTranslation();
  const session = useSession();
  const { user } = useUser();
  const { path } = useLocation();
  const [opened, { toggle, close }] = useDisclosure();
  const roles = user!.roles;
  const screens = allowedScreens(roles);

  let content: React.ReactNode = null;
  let params: Record<string, string> = {};
  const found = screens.find((s) => {
    const m = match(s.path, path);
    if (m) params = m;
    return m !== null;
  });
  if (path === '/' || path === '/sign-in' || path === '') {
    content = <Redirect to={homeOf(roles)} />;
  } else if (found) {
    const Component = found.component;
    content = <Component key={found.path} />;
  } else {
    const exists = SCREENS.some((s) => match(s.path, path));
    content = (
      <Stack>
        <Title order={1} size="h2">
          {exists ? t('common.notAllowed') : t('common.notFound')}
        </Title>
        <Link to={homeOf(roles)}>{t('common.goHome')}</Link>
      </Stack>
    );
  }

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.toggle')} />
            <Text fw={700}>{t('app.name')}</Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="xs">
              {user!.email} · {roles.map((r) => t(`roles.${r}`)).join(', ')}
            </Text>
            <Button variant="default" size="xs" onClick={() => void session.signOut()}>
              {t('nav.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label={t('nav.label')}>
        <Stack gap={2} style={{ flex: 1 }}>
          {screens
            .filter((s) => s.nav)
            .map((s) => (
              <NavLink
                key={s.path}
                component={Link}
                to={s.path}
                label={t(s.nav!)}
                active={path === s.path || path.startsWith(`${s.path}/`)}
                variant="filled"
                aria-current={path === s.path ? 'page' : undefined}
                onClick={close}
              />
            ))}
        </Stack>
        <LanguagePicker />
      </AppShell.Navbar>
      <AppShell.Main>
        <ParamsProvider value={params}>{content}</ParamsProvider>
      </AppShell.Main>
    </AppShell>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import type { Session } from '../src/api/session';
import { SessionProvider } from '../src/api/session-context';

/** Renders inside the console's providers, with a stand-in session whose `call` the test decides. */
export function renderWith(ui: ReactNode, session: Record<string, unknown> = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <MantineProvider>
      <QueryClientProvider client={client}>
        <SessionProvider session={session as unknown as Session}>{ui}</SessionProvider>
      </QueryClientProvider>
    </MantineProvider>,
  );
}

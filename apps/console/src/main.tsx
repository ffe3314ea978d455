import '@mantine/core/styles.css';
import './console.css';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Session } from './api/session';
import { SessionProvider } from './api/session-context';
import { App } from './app';
import { setupI18n } from './i18n/i18n';
import { ThemeProvider } from './theme';

setupI18n();

/** The nonce the gateway put in the page for this answer: the kit's <style> elements carry it (CSP). */
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
// The dialogs' scroll lock writes a <style> element too (react-remove-scroll, through get-nonce).
if (nonce) setNonce(nonce);

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider nonce={nonce}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider session={new Session()}>
          <App />
        </SessionProvider>
      </QueryClientProvider>
    </ThemeProvider>
  </StrictMode>,
);

import { Alert, Badge, createTheme, MantineProvider, Modal, type CSSVariablesResolver } from '@mantine/core';
import { useMemo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * Colours chosen for WCAG AA contrast (axe checks every screen): shade 9 of each colour for text
 * and filled buttons, dark text on tinted badges and alerts, and a darker "dimmed" grey.
 */
const resolver: CSSVariablesResolver = (theme) => ({
  variables: {},
  light: { '--mantine-color-dimmed': theme.colors.gray[7]!, '--mantine-color-error': theme.colors.red[9]! },
  dark: {},
});

export function ThemeProvider({ nonce, children }: { nonce?: string; children: ReactNode }) {
  const { t } = useTranslation();
  const theme = useMemo(
    () =>
      createTheme({
        primaryColor: 'blue',
        primaryShade: 9,
        fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", sans-serif',
        components: {
          // Close buttons have names a screen reader can say.
          Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': t('common.close') } } }),
          Alert: Alert.extend({
            defaultProps: { closeButtonLabel: t('common.close'), variant: 'light' },
            styles: {
              title: { color: 'var(--mantine-color-black)' },
              message: { color: 'var(--mantine-color-black)' },
            },
          }),
          Badge: Badge.extend({
            defaultProps: { variant: 'light' },
            styles: { root: { color: 'var(--mantine-color-black)' } },
          }),
        },
      }),
    [t],
  );
  return (
    <MantineProvider
      theme={theme}
      cssVariablesResolver={resolver}
      forceColorScheme="light"
      getStyleNonce={nonce ? () => nonce : undefined}
    >
      {children}
    </MantineProvider>
  );
}

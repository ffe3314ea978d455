import { NativeSelect } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage } from '../i18n/i18n';

export function LanguagePicker() {
  const { t, i18n } = useTranslation();
  return (
    <NativeSelect
      label={t('common.language')}
      size="xs"
      value={i18n.resolvedLanguage ?? 'en'}
      data={LANGUAGES.map((l) => ({ value: l.code, label: l.name }))}
      onChange={(e) => void setLanguage(e.currentTarget.value)}
    />
  );
}

import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en';
import { ko } from './ko';

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'ko', name: '한국어' },
] as const;

/** The language setting (not a credential) is kept across visits. */
const KEY = 'rewards.console.language';

/** The saved choice, else the browser's first language the console speaks, else English. */
export function initialLanguage(): string {
  const codes: string[] = LANGUAGES.map((l) => l.code);
  const saved = globalThis.localStorage?.getItem(KEY);
  if (saved && codes.includes(saved)) return saved;
  for (const lang of globalThis.navigator?.languages ?? [globalThis.navigator?.language ?? 'en']) {
    const base = lang.toLowerCase().split('-')[0]!;
    if (codes.includes(base)) return base;
  }
  return 'en';
}

export function setupI18n(lng = initialLanguage()) {
  void i18next.use(initReactI18next).init({
    resources: { en: { translation: en }, ko: { translation: ko } },
    lng,
    fallbackLng: 'en',
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
  return i18next;
}

export async function setLanguage(code: string) {
  globalThis.localStorage?.setItem(KEY, code);
  await i18next.changeLanguage(code);
  document.documentElement.lang = code;
}

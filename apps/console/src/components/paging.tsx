import { Button, Group, Text } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** Cursor paging with a way back: the cursors of the pages seen so far. */
export function useCursorPages() {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    next: (nextCursor: string) => setStack((s) => [...s, nextCursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export type CursorPages = ReturnType<typeof useCursorPages>;

/** Previous, the page number and next, under a list paged by cursor. */
export function Pager({ pages, nextCursor }: { pages: CursorPages; nextCursor: string | null | undefined }) {
  const { t } = useTranslation();
  return (
    <Group>
      <Button variant="default" disabled={pages.page === 1} onClick={pages.previous}>
        {t('common.previous')}
      </Button>
      <Text size="sm">{t('common.page', { page: pages.page })}</Text>
      <Button variant="default" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {t('common.next')}
      </Button>
    </Group>
  );
}

/** Filters edited as a draft and applied together; applying goes back to the first page. */
export function useDraftFilters<F extends Record<keyof F, string>>(none: F, pages: CursorPages) {
  const [draft, setDraft] = useState<F>(none);
  const [filters, setFilters] = useState<F>(none);
  return {
    draft,
    filters,
    set: (k: keyof F) => (e: { currentTarget: { value: string } }) =>
      setDraft({ ...draft, [k]: e.currentTarget.value }),
    apply: () => {
      pages.reset();
      setFilters(draft);
    },
  };
}

/** The filter form above a list: its fields and buttons in a row, applied on submit. */
export function FilterForm({ onApply, children }: { onApply: () => void; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <form
      aria-label={t('common.filters')}
      onSubmit={(e) => {
        e.preventDefault();
        onApply();
      }}
    >
      <Group align="flex-end">{children}</Group>
    </form>
  );
}

/** Offers a text as a file download (a blob URL: nothing leaves the browser). */
export function download(name: string, text: string, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob(['\uFEFF', text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

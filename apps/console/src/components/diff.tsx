import { Table, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** A JSON value flattened to `path → value` (`rewards.0.name`), leaves only. */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix || value !== null) {
    out[prefix] = value;
  }
  return out;
}

export interface DiffRow {
  path: string;
  before: unknown;
  after: unknown;
  change: 'added' | 'removed' | 'changed' | 'same';
}

/** Every path of either side, in order, with what happened to it. */
export function diff(before: unknown, after: unknown): DiffRow[] {
  const b = flatten(before);
  const a = flatten(after);
  const paths = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return paths.map((path) => {
    const inB = path in b;
    const inA = path in a;
    const change = !inB
      ? 'added'
      : !inA
        ? 'removed'
        : JSON.stringify(b[path]) === JSON.stringify(a[path])
          ? 'same'
          : 'changed';
    return { path, before: b[path], after: a[path], change };
  });
}

const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function DiffTable({ before, after, label }: { before: unknown; after: unknown; label: string }) {
  const { t } = useTranslation();
  const rows = diff(before, after);
  if (rows.length === 0) return <Text size="sm">{t('audit.noFields')}</Text>;
  return (
    <Table aria-label={label} withTableBorder>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('audit.field')}</Table.Th>
          <Table.Th>{t('audit.before')}</Table.Th>
          <Table.Th>{t('audit.after')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((r) => (
          <Table.Tr key={r.path} className={r.change === 'same' ? undefined : 'diff-changed'}>
            <Table.Td>
              <Text size="xs" ff="monospace">
                {r.path || '—'}
                {r.change !== 'same' && ` (${t(`audit.change.${r.change}`)})`}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs" ff="monospace">
                {show(r.before)}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs" ff="monospace">
                {show(r.after)}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

import { Table } from '@mantine/core';
import type { ReactNode } from 'react';
import { QueryState } from './feedback';

/** A list a query loads: loading, error or empty, else a scrolling table under these column headings. */
export function QueryTable({
  query,
  empty,
  emptyText,
  minWidth,
  columns,
  striped = true,
  highlightOnHover,
  labelledBy,
  after,
  children,
}: {
  query: { isLoading: boolean; error: unknown };
  empty: boolean;
  emptyText: string;
  minWidth: number;
  columns: ReactNode[];
  striped?: boolean;
  highlightOnHover?: boolean;
  labelledBy?: string;
  /** Below the table, such as a button that loads more. */
  after?: ReactNode;
  /** The rows. */
  children: ReactNode;
}) {
  return (
    <QueryState isLoading={query.isLoading} error={query.error} empty={empty} emptyText={emptyText}>
      <Table.ScrollContainer minWidth={minWidth}>
        <Table striped={striped} highlightOnHover={highlightOnHover} aria-labelledby={labelledBy}>
          <Table.Thead>
            <Table.Tr>
              {columns.map((c, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed
                <Table.Th key={i}>{c}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>{children}</Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {after}
    </QueryState>
  );
}

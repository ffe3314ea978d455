import { Alert, Button, Group, NativeSelect, NumberInput, Stack, Tabs, Text, Textarea, TextInput } from '@mantine/core';
import { Condition as ConditionSchema, LEAF_CONDITIONS, type Condition } from '@rewards/contracts';
import type { TFunction } from 'i18next';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** A node as the builder edits it: a condition whose fields may still be blank or out of range. */
export type DraftCondition = { type: string; of?: DraftCondition[]; [field: string]: unknown };

const GROUPS = ['ALL', 'ANY'] as const;
type LeafType = (typeof LEAF_CONDITIONS)[number];

/** Each leaf type's fields, in order: numbers, or the activity's UPPER_SNAKE name. */
export const LEAF_FIELDS: Record<LeafType, { name: string; kind: 'number' | 'activity' }[]> = {
  LOGIN_STREAK: [{ name: 'days', kind: 'number' }],
  LOGIN_DAYS: [{ name: 'days', kind: 'number' }],
  INVITE_COUNT: [{ name: 'count', kind: 'number' }],
  LEVEL_REACHED: [{ name: 'level', kind: 'number' }],
  ACTIVITY_COUNT: [
    { name: 'activity', kind: 'activity' },
    { name: 'count', kind: 'number' },
  ],
  ACTIVITY_SUM: [
    { name: 'activity', kind: 'activity' },
    { name: 'sum', kind: 'number' },
  ],
};

const isGroup = (type: string) => (GROUPS as readonly string[]).includes(type);

/** A fresh node of a type, keeping what still fits of the node it replaces (its children, its activity). */
export function nodeOfType(type: string, previous?: DraftCondition): DraftCondition {
  if (isGroup(type)) {
    const of = previous?.of ?? (previous ? [previous] : [{ type: 'LOGIN_DAYS', days: 1 }]);
    return { type, of };
  }
  const node: DraftCondition = { type };
  for (const f of LEAF_FIELDS[type as LeafType] ?? []) {
    const kept = previous?.[f.name];
    node[f.name] = kept !== undefined ? kept : f.kind === 'activity' ? '' : 1;
  }
  return node;
}

interface BuilderProps {
  value: DraftCondition;
  onChange: (next: DraftCondition) => void;
  /** Issues by path inside the condition (`of.1.count`), as the API names them after `condition.`. */
  errors?: Record<string, string>;
  disabled?: boolean;
}

/** The condition editor: a tree of ALL/ANY groups and leaves, and the same condition as JSON. */
export function ConditionBuilder({ value, onChange, errors = {}, disabled }: BuilderProps) {
  const { t } = useTranslation();
  const [tab, setTab] = useState<string | null>('builder');
  const rootError = errors[''];
  return (
    <Tabs value={tab} onChange={setTab} keepMounted={false}>
      <Tabs.List>
        <Tabs.Tab value="builder">{t('condition.builder')}</Tabs.Tab>
        <Tabs.Tab value="json">{t('condition.json')}</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="builder" pt="sm">
        {rootError && (
          <Alert color="red" mb="sm" title={t('condition.invalid')}>
            {rootError}
          </Alert>
        )}
        <ConditionNode
          node={value}
          path={[]}
          label={t('condition.root')}
          onChange={onChange}
          errors={errors}
          disabled={disabled}
        />
      </Tabs.Panel>
      <Tabs.Panel value="json" pt="sm">
        <JsonView value={value} onChange={onChange} disabled={disabled} />
      </Tabs.Panel>
    </Tabs>
  );
}

interface NodeProps {
  node: DraftCondition;
  path: number[];
  label: string;
  onChange: (next: DraftCondition) => void;
  onRemove?: () => void;
  errors: Record<string, string>;
  disabled?: boolean;
}

const errorKey = (path: number[], field?: string) =>
  [...path.flatMap((i) => ['of', String(i)]), ...(field ? [field] : [])].join('.');

function ConditionNode({ node, path, label, onChange, onRemove, errors, disabled }: NodeProps) {
  const { t } = useTranslation();
  const group = isGroup(node.type);
  const types = [...GROUPS, ...LEAF_CONDITIONS];
  const ownError = errors[errorKey(path)] ?? errors[errorKey(path, 'type')];
  return (
    <fieldset className="condition-node" data-depth={path.length} disabled={disabled}>
      <legend>{label}</legend>
      <Stack gap="xs">
        <Group align="flex-end" gap="xs" wrap="nowrap">
          <NativeSelect
            label={t('condition.type')}
            value={node.type}
            data={types.map((type) => ({ value: type, label: t(`condition.types.${type}`) }))}
            onChange={(e) => onChange(nodeOfType(e.currentTarget.value, node))}
            error={ownError}
            style={{ flex: 1 }}
          />
          {onRemove && (
            <Button variant="outline" color="red" onClick={onRemove} aria-label={t('condition.removeNamed', { label })}>
              {t('condition.remove')}
            </Button>
          )}
        </Group>
        {group ? (
          <GroupChildren
            node={node}
            path={path}
            label={label}
            onChange={onChange}
            errors={errors}
            disabled={disabled}
          />
        ) : (
          <LeafFields node={node} path={path} onChange={onChange} errors={errors} />
        )}
      </Stack>
    </fieldset>
  );
}

function GroupChildren({ node, path, label, onChange, errors, disabled }: NodeProps) {
  const { t } = useTranslation();
  const children = node.of ?? [];
  const set = (of: DraftCondition[]) => onChange({ ...node, of });
  const childLabel = (i: number) => (path.length === 0 ? `${label} ${i + 1}` : `${label}.${i + 1}`);
  const ofError = errors[`${errorKey(path)}${path.length ? '.' : ''}of`];
  return (
    <Stack gap="xs" pl="md" className="condition-children">
      {ofError && (
        <Text c="red.8" size="sm" role="alert">
          {ofError}
        </Text>
      )}
      {children.length === 0 && <Text size="sm">{t('condition.emptyGroup')}</Text>}
      {children.map((child, i) => (
        <ConditionNode
          // biome-ignore lint/suspicious/noArrayIndexKey: a child's place is its identity in the tree
          key={i}
          node={child}
          path={[...path, i]}
          label={childLabel(i)}
          onChange={(next) => set(children.map((c, j) => (j === i ? next : c)))}
          onRemove={() => set(children.filter((_, j) => j !== i))}
          errors={errors}
          disabled={disabled}
        />
      ))}
      <Group gap="xs">
        <Button
          variant="light"
          size="xs"
          onClick={() => set([...children, nodeOfType('LOGIN_DAYS')])}
          aria-label={t('condition.addLeafTo', { label })}
        >
          {t('condition.addLeaf')}
        </Button>
        <Button
          variant="light"
          size="xs"
          onClick={() => set([...children, { type: 'ALL', of: [nodeOfType('LOGIN_DAYS')] }])}
          aria-label={t('condition.addGroupTo', { label })}
        >
          {t('condition.addGroup')}
        </Button>
      </Group>
    </Stack>
  );
}

function LeafFields({ node, path, onChange, errors }: Omit<NodeProps, 'label'>) {
  const { t } = useTranslation();
  const fields = LEAF_FIELDS[node.type as LeafType] ?? [];
  return (
    <Group gap="xs" align="flex-start" grow>
      {fields.map((f) => {
        const error = errors[errorKey(path, f.name)];
        const label = t(`condition.fields.${node.type}.${f.name}`);
        return f.kind === 'activity' ? (
          <TextInput
            key={f.name}
            label={label}
            description={t('condition.activityHint')}
            value={String(node[f.name] ?? '')}
            onChange={(e) => onChange({ ...node, [f.name]: e.currentTarget.value.toUpperCase() })}
            error={error}
          />
        ) : (
          <NumberInput
            key={f.name}
            label={label}
            min={f.name === 'sum' ? 0 : 1}
            allowDecimal={f.name === 'sum'}
            value={typeof node[f.name] === 'number' ? (node[f.name] as number) : ''}
            onChange={(v) => onChange({ ...node, [f.name]: typeof v === 'number' ? v : undefined })}
            error={error}
          />
        );
      })}
    </Group>
  );
}

function JsonView({ value, onChange, disabled }: Omit<BuilderProps, 'errors'>) {
  const { t } = useTranslation();
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  // The builder's changes show here; the text being typed is kept while it does not parse.
  useEffect(() => {
    setText((current) => {
      try {
        if (JSON.stringify(JSON.parse(current)) === JSON.stringify(value)) return current;
      } catch {
        // replaced below
      }
      return JSON.stringify(value, null, 2);
    });
  }, [value]);
  return (
    <Stack gap="xs">
      <Textarea
        label={t('condition.jsonLabel')}
        description={t('condition.jsonHint')}
        autosize
        minRows={6}
        ff="monospace"
        value={text}
        disabled={disabled}
        onChange={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          let parsed: unknown;
          try {
            parsed = JSON.parse(next);
          } catch {
            setProblem(t('condition.notJson'));
            return;
          }
          if (!parsed || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') {
            setProblem(t('condition.needsType'));
            return;
          }
          const checked = ConditionSchema.safeParse(parsed);
          setProblem(
            checked.success
              ? null
              : checked.error.issues.map((i) => `${i.path.join('.') || t('condition.root')}: ${i.message}`).join('\n'),
          );
          onChange(parsed as DraftCondition);
        }}
        error={problem}
      />
    </Stack>
  );
}

/** A condition in words, for lists and summaries. */
export function describeCondition(condition: Condition | DraftCondition, t: TFunction): string {
  const c = condition as DraftCondition;
  if (isGroup(c.type)) {
    const parts = (c.of ?? []).map((x) => describeCondition(x, t));
    return `${t(`condition.summary.${c.type}`)} (${parts.join('; ')})`;
  }
  return t(`condition.summary.${c.type}`, c);
}

/** What a new event starts with. */
export const emptyCondition = (): DraftCondition => ({ type: 'ALL', of: [nodeOfType('LOGIN_DAYS')] });

/**
 * Issues of each node on its own, by path (`of.1.activity`), with the contract's own schema. The API
 * names the field when one node is wrong; when several are, it may only say the condition is invalid,
 * and these point at the fields.
 */
export function conditionIssues(node: DraftCondition, prefix = ''): Record<string, string> {
  const at = (rest: string) => [prefix, rest].filter(Boolean).join('.');
  const out: Record<string, string> = {};
  if (isGroup(node.type)) {
    const of = node.of ?? [];
    if (of.length === 0 || of.length > 10) out[at('of')] = 'a group holds 1 to 10 conditions';
    of.forEach((child, i) => {
      Object.assign(out, conditionIssues(child, at(`of.${i}`)));
    });
    return out;
  }
  const checked = ConditionSchema.safeParse(node);
  if (!checked.success) {
    for (const issue of checked.error.issues.flatMap(ownIssues)) out[at(issue.path.join('.'))] ??= issue.message;
  }
  return out;
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/** For a union's failure, the issues of the one option whose `type` matched (the node's own type). */
function ownIssues(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors) return [issue];
  const own = issue.errors.find((option) => !option.some((i) => i.path.length === 1 && i.path[0] === 'type'));
  return own ? own.map((i) => ({ ...i, path: [...issue.path, ...i.path] })).flatMap(ownIssues) : [issue];
}

/**
 * Layer rules, checked in CI (`pnpm lint`) on the compiled output (`tsc -b` first): dependency-cruiser
 * cannot parse TypeScript 7 sources, and the emitted ESM keeps every runtime import as written. Each rule names the design decision it keeps
 * (see ARCHITECTURE.md): where SQL may live, what the domain and the contracts may depend on, and
 * that the services stay separate programs.
 */
module.exports = {
  forbidden: [
    {
      name: 'apps-stay-apart',
      comment: 'Each app is its own program: apps never import each other (they talk over HTTP).',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'contracts-only-zod',
      comment: 'The contract package is shared by every service and client: it depends on zod alone.',
      severity: 'error',
      from: { path: '^packages/contracts/dist' },
      to: { dependencyTypesNot: ['local'], pathNot: ['node_modules/zod/', 'node_modules/\\.pnpm/zod@'] },
    },
    {
      name: 'domain-is-pure',
      comment:
        'Domain code (conditions, calendars, visibility, state machines) imports nothing but contract types and itself.',
      severity: 'error',
      from: { path: '/dist/domain/' },
      to: { pathNot: ['/dist/domain/', '^packages/contracts/'] },
    },
    {
      name: 'sql-in-repositories',
      comment:
        'drizzle-orm only in repositories, table schemas, the database module and its commit-ordered feed ' +
        'reader: services cannot build SQL.',
      severity: 'error',
      from: {
        path: '^(apps|packages)/[^/]+/dist/',
        pathNot: [
          '\\.repository\\.js$',
          '/schema\\.js$',
          '^packages/infrastructure/dist/database\\.js$',
          '^packages/infrastructure/dist/commit-feed\\.js$',
          '^apps/event/dist/keyset\\.js$',
        ],
      },
      to: { path: 'node_modules/(\\.pnpm/)?drizzle-orm' },
    },
    {
      name: 'no-foreign-controllers',
      comment: 'A feature never imports another feature’s controller (controllers are entry points only).',
      severity: 'error',
      from: { path: '^apps/[^/]+/dist/([^/]+)/' },
      to: { path: '\\.controller\\.js$', pathNot: '^apps/[^/]+/dist/$1/' },
    },
    {
      name: 'gateway-without-database',
      comment: 'The gateway keeps nothing: it never loads the database side of the infrastructure package.',
      severity: 'error',
      from: { path: '^apps/gateway/' },
      to: {
        path: [
          '^packages/infrastructure/dist/(database|persistence|unit-of-work|health|service-providers)\\.js$',
          'node_modules/(\\.pnpm/)?(pg|drizzle-orm)[@/]',
        ],
      },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: { path: ['^(apps|packages)/[^/]+/dist/', 'node_modules'] },
    // The console's dist is one bundle made by Vite (no imports left to check); its sources are type-checked instead.
    exclude: { path: ['\\.d\\.ts$', '\\.map$', '^apps/console/'] },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'default'], extensions: ['.js'] },
    combinedDependencies: true,
  },
};

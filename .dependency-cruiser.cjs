// The dependency rules of DESIGN.md, checked in CI by `npm run lint`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      comment: 'core imports nothing of ours outside core.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'core-pure-packages',
      comment: 'core may use pure libraries only: zod for the config schema.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], pathNot: '^node_modules/zod/' },
    },
    {
      name: 'core-no-node-io',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(util|crypto)$' },
    },
    {
      name: 'ports-only-core',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^src/', pathNot: '^src/(core|ports)/' },
    },
    {
      name: 'router-only-core',
      comment: 'The data plane imports core (and ports for its contract) only.',
      severity: 'error',
      from: { path: '^src/router/' },
      to: { path: '^src/', pathNot: '^src/(core|ports|router)/' },
    },
    {
      name: 'adapters-isolated',
      comment: 'Adapters never import each other, the controller, the daemon or the CLI.',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+/[^/]+)/' },
      to: {
        path: '^src/(adapters|controller|daemon|cli|client)/',
        pathNot: ['^src/adapters/$1/'],
      },
    },
    {
      name: 'cli-through-client',
      comment: 'The CLI talks to the daemon only through client/.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(daemon|adapters|controller|router)/' },
    },
    {
      name: 'client-thin',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(core|client)/' },
    },
    {
      name: 'only-daemon-wires',
      comment: 'Nothing but the daemon imports the daemon.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/daemon/' },
      to: { path: '^src/daemon/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

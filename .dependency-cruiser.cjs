/**
 * The rooms of src/ and which way their imports may point (docs/architecture.md).
 * `npm run check:deps` fails on any circle and on any arrow that runs back up.
 *
 *   protocol  <-  core  <-  store  <-  cluster (fan-out between nodes)
 *      ^            ^
 *      |            +------  backend, frontend (each also uses edge; neither uses the other)
 *   widget, console
 *
 * app.ts, main.ts, config.ts and cli.ts at the top of src/ compose the rooms.
 * Tests may reach across rooms (a core test runs on the real SQLite store),
 * so the layer rules look at product code only; circles are refused everywhere.
 */
const product = '(\\.test\\.ts$|^src/widget/test/)';
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle between modules, type imports included: one of them belongs elsewhere.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-stands-alone',
      severity: 'error',
      comment: 'The wire protocol is shared by the browser and Node: it imports nothing of Beckon but itself.',
      from: { path: '^src/protocol/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/protocol/' },
    },
    {
      name: 'core-owns-its-ports',
      severity: 'error',
      comment:
        'The rules know the store only by the interface they own (src/core/store.ts), never an implementation, and nothing of HTTP or sockets.',
      from: { path: '^src/core/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(core|protocol)/' },
    },
    {
      name: 'store-below-the-roles',
      severity: 'error',
      comment: "The store implements the core's interface; it knows nothing of the roles that use it.",
      from: { path: '^src/store/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(store|core|protocol)/' },
    },
    {
      name: 'cluster-below-the-roles',
      severity: 'error',
      comment: 'The fan-out between nodes serves both roles and depends on neither.',
      from: { path: '^src/cluster/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(cluster|store|core|protocol)/' },
    },
    {
      name: 'edge-is-neutral',
      severity: 'error',
      comment: 'Host, origin and client-address checks serve both roles and depend on neither.',
      from: { path: '^src/edge/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(edge|protocol)/' },
    },
    {
      name: 'backend-and-frontend-apart',
      severity: 'error',
      comment: 'Either role runs alone: the backend never imports the frontend, nor the frontend the backend.',
      from: { path: '^src/(backend|frontend)/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(core|protocol|edge|$1)/' },
    },
    {
      name: 'browser-code-stays-in-the-browser',
      severity: 'error',
      comment: "What runs in a visitor's or operator's browser uses the protocol, never server code.",
      from: { path: '^src/(widget|console)/', pathNot: product },
      to: { path: '^src/', pathNot: '^src/(protocol|$1)/' },
    },
    {
      name: 'product-never-imports-tests',
      severity: 'error',
      comment: 'Nothing that ships may import test code.',
      from: { path: '^src/', pathNot: product },
      to: { path: '(^test/|^e2e/|\\.test\\.ts$|^src/widget/test/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};

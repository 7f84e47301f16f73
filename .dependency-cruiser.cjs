/**
 * The layers of src/ and the one direction imports may go (docs/architecture.md#layers). Checked by `npm run deps`,
 * part of `npm test`. Type-only imports count as imports (tsPreCompilationDeps), so a circle through types fails too.
 *
 *   config, engine  →  (nothing of ours)
 *   schemas         →  engine
 *   errors          →  schemas
 *   codec           →  errors, schemas
 *   inference       →  codec, errors, engine, config, schemas
 *   models          →  inference and below
 *   protocols       →  models, inference and below
 *   runtime         →  protocols, models, inference and below
 *   core            →  runtime, protocols, models, inference and below (core/sequences: config, errors only)
 *   telemetry       →  core and below (OpenTelemetry: what the core's trace hooks record, for the frontends)
 *   http            →  every layer but grpc (app.ts wires them)
 *   grpc            →  telemetry, core and below (the other frontend: neither frontend imports the other)
 *   main.ts         →  http, grpc, core, models, config
 */
const LAYERS = {
  config: [],
  engine: [],
  schemas: ['engine'],
  errors: ['schemas'],
  codec: ['errors', 'schemas'],
  inference: ['codec', 'errors', 'engine', 'config', 'schemas'],
  models: ['inference', 'codec', 'errors', 'engine', 'config', 'schemas'],
  protocols: ['models', 'inference', 'codec', 'errors', 'engine', 'config', 'schemas'],
  runtime: ['protocols', 'models', 'inference', 'codec', 'errors', 'engine', 'config', 'schemas'],
  core: ['runtime', 'protocols', 'models', 'inference', 'codec', 'errors', 'engine', 'config', 'schemas'],
  telemetry: ['core', 'runtime', 'protocols', 'models', 'inference', 'codec', 'errors', 'engine', 'config', 'schemas'],
  http: [
    'telemetry',
    'core',
    'runtime',
    'protocols',
    'models',
    'inference',
    'codec',
    'errors',
    'engine',
    'config',
    'schemas',
  ],
  grpc: [
    'telemetry',
    'core',
    'runtime',
    'protocols',
    'models',
    'inference',
    'codec',
    'errors',
    'engine',
    'config',
    'schemas',
  ],
};
const ALL = Object.keys(LAYERS);
const folder = (layer) => (layer === 'schemas' ? '^schemas/' : `^src/${layer}/`);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle, type imports included.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(LAYERS).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer === 'schemas' ? '../schemas' : layer} may import only from: ${allowed.join(', ') || 'nothing of ours'}.`,
      from: { path: folder(layer) },
      to: {
        path: `^(src|schemas)/`,
        pathNot: [folder(layer), ...allowed.map(folder)],
      },
    })),
    {
      name: 'core-sequences',
      severity: 'error',
      comment:
        'src/core/sequences (the sequence state store) knows no protocol, model or engine: it may import only ' +
        'config and errors of ours.',
      from: { path: '^src/core/sequences/' },
      to: { path: '^(src|schemas)/', pathNot: ['^src/core/sequences/', '^src/(config|errors)/'] },
    },
    {
      name: 'main-is-the-top',
      severity: 'error',
      comment: 'src/main.ts is the process; nothing imports it.',
      from: {},
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'main-imports',
      severity: 'error',
      comment:
        'src/main.ts builds the app (http), its core and the gRPC frontend (grpc), reads the config and reports ' +
        'model load errors.',
      from: { path: '^src/main\\.ts$' },
      to: { path: '^(src|schemas)/', pathNot: ['^src/(http|grpc|core|models|config)/'] },
    },
    {
      name: 'src-is-not-tests',
      severity: 'error',
      comment: 'The product never imports its tests, benchmarks or scripts.',
      from: { path: '^(src|schemas)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'src-top-level',
      severity: 'error',
      comment: 'The top of src/ holds main.ts and the layer folders only.',
      from: { path: `^src/(?!main\\.ts$|(${ALL.join('|')})/)` },
      to: {},
    },
    {
      name: 'src-top-level-orphan',
      severity: 'error',
      comment: 'The top of src/ holds main.ts and the layer folders only (a file there without imports too).',
      from: { orphan: true, path: `^src/(?!main\\.ts$|(${ALL.join('|')})/)` },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependencies-in-production',
      severity: 'error',
      comment: 'src/ and schemas/ run in the image, which has production dependencies only.',
      from: { path: '^(src|schemas)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

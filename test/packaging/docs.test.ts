/**
 * The API documentation: TypeDoc (typedoc.json, as `npm run docs` runs it) must convert the whole
 * public API with zero warnings, and every class, function, method and constructor must carry an
 * `@example` and a `@throws` (what it throws, or that it never throws). Conversion only; the HTML is
 * what `npm run docs` writes.
 */
import { Application, LogLevel, ReflectionKind, TSConfigReader, TypeDocReader, type DeclarationReflection, type SignatureReflection } from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './bundle.js';

const warnings: string[] = [];
let callables: { name: string; tags: Set<string> }[] = [];

beforeAll(async () => {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const app = await Application.bootstrapWithPlugins({ options: 'typedoc.json', logLevel: 'Warn' } as never, [new TypeDocReader(), new TSConfigReader()]);
    const logger = app.logger as unknown as { log(message: string, level: LogLevel): void };
    const log = logger.log.bind(logger);
    logger.log = (message, level) => {
      // eslint-disable-next-line no-control-regex
      if (level >= LogLevel.Warn) warnings.push(String(message).replace(/\u001b\[[0-9;]*m/g, '').replace(/^\[warning\] /, ''));
      log(message, level);
    };
    const project = await app.convert();
    if (!project) throw new Error(`TypeDoc could not convert the project:\n${warnings.join('\n')}`);
    app.validate(project);
    const kinds = ReflectionKind.Function | ReflectionKind.Method | ReflectionKind.Constructor | ReflectionKind.Class;
    callables = (project.getReflectionsByKind(kinds) as DeclarationReflection[])
      .filter((r) => !r.flags.isPrivate && !r.flags.isProtected && !r.flags.isExternal && !r.inheritedFrom)
      .map((r) => {
        const comments = [r.comment, ...((r.signatures ?? []) as SignatureReflection[]).map((s) => s.comment)];
        const tags = new Set(comments.flatMap((c) => c?.blockTags.map((t) => t.tag) ?? []));
        if (r.kindOf(ReflectionKind.Constructor)) {
          // A constructor's example is usually the class's own.
          const parent = r.parent as DeclarationReflection | undefined;
          for (const t of parent?.comment?.blockTags ?? []) if (t.tag === '@example') tags.add('@example');
        }
        return { name: r.getFriendlyFullName(), tags };
      });
  } finally {
    process.chdir(cwd);
  }
}, 120_000);

describe('API documentation', () => {
  it('TypeDoc reports zero warnings over the public API', () => {
    expect(warnings).toEqual([]);
  });

  it('documents a callable surface at all (sanity)', () => {
    const names = callables.map((c) => c.name);
    for (const name of ['QuantumDB.search', 'QuantumDBVectorStore.similaritySearchVectorWithScore', 'createFixtureDB', 'QuantumDBPool.searchBatch']) {
      expect(names.some((n) => n.endsWith(name)), name).toBe(true);
    }
  });

  it('gives every class, function, method and constructor an @example', () => {
    expect(callables.filter((c) => !c.tags.has('@example')).map((c) => c.name)).toEqual([]);
  });

  it('gives every function, method and constructor a @throws line', () => {
    expect(callables.filter((c) => !c.tags.has('@throws') && !isClass(c.name)).map((c) => c.name)).toEqual([]);
  });
});

/** Classes carry @throws on their constructor and methods, not on the class comment. */
function isClass(name: string): boolean {
  return /(^|\.)(QuantumDB|QuantumDBError|QuantumDBVectorStore|QuantumDBPool|QuantumDBClient)$/.test(name);
}

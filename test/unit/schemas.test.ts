import { expect, it } from 'vitest';
import * as contract from '../../contract/index.js';
import * as domain from '../../domain/index.js';
// @ts-expect-error: plain JavaScript module without types
import { schemaFiles, staleFiles } from '../../scripts/generate-schemas.mjs';

const files = schemaFiles(domain, contract) as Record<string, string>;

it('the committed schemas/ match the zod schemas in domain/ (run `npm run schemas` when this fails)', () => {
  expect(staleFiles(files)).toEqual([]);
});

it('has an input and a result schema for every public workflow, and the checkpoint updates and the progress query', () => {
  const publicTypes = Object.entries(contract.WORKFLOW_TYPES)
    .filter(([op]) => !(domain.INTERNAL_OPERATIONS as readonly string[]).includes(op))
    .map(([, type]) => type);
  for (const type of publicTypes) {
    expect(Object.keys(files)).toContain(`${type}.input.json`);
    expect(Object.keys(files)).toContain(`${type}.result.json`);
  }
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining(['checkpointWorkspace.rollback.result.json', 'checkpointWorkspace.release.input.json', 'progress.query.result.json', 'index.json']),
  );
});

it('input schemas describe what callers may omit and refuse unknown fields, like the zod schemas', () => {
  const snapshot = JSON.parse(files['snapshotWorkspace.input.json']!);
  expect(snapshot.required).toEqual(['workspaceId', 'name']);
  expect(snapshot.additionalProperties).toBe(false);
  expect(snapshot.properties.restart).toMatchObject({ enum: ['previous', 'always', 'never'], default: 'previous' });
  expect(snapshot.properties.workspaceId.pattern).toBe(domain.WORKSPACE_ID_PATTERN.source);
  const index = JSON.parse(files['index.json']!);
  expect(index.taskQueue).toBe(domain.DEFAULT_TASK_QUEUE);
});

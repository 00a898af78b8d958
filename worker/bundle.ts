/**
 * How rigsnap's workflow code is bundled, in one place: the prebuilt bundle (scripts/post-build.mjs),
 * a worker that bundles at start-up (worker/worker.ts) and the tests' bundle (test/global-setup.ts).
 */
import { fileURLToPath } from 'node:url';
import type { BundleOptions } from '@temporalio/worker';

type Configuration = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];

/**
 * zod is loaded once per worker thread and shared by every workflow, instead of once per workflow: the
 * sandbox gives each workflow fresh copies of the modules it loads, and zod's own start-up was a large
 * part of creating a workflow. Shared modules are frozen; zod keeps no state of its own after loading
 * (schemas, built per workflow by domain/schemas.ts, carry theirs).
 */
export const PRELOADED_MODULES = ['zod'];

/**
 * Source maps without the sources' text and with line (not column) mappings: stack traces of workflow
 * failures still point at the TypeScript files and lines, the bundle is a fraction of the size (the
 * default inlines every source file), and mapping a stack frame is cheaper (the SDK maps one for every
 * promise a workflow creates).
 */
export function webpackConfigHook(config: Configuration): Configuration {
  return { ...config, devtool: 'inline-nosources-cheap-module-source-map' };
}

/**
 * The workflow interceptor modules every bundle carries: rigsnap's metrics see every workflow end, and
 * local activities get their workflow's priority.
 */
export function workflowInterceptorModules(): string[] {
  const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? 'ts' : 'js';
  return ['metrics-interceptors', 'priority-interceptors'].map((m) => fileURLToPath(new URL(`../workflows/${m}.${ext}`, import.meta.url)));
}

/** The options of bundleWorkflowCode for the workflows at `workflowsPath`. */
export function bundleOptions(
  workflowsPath: string,
): Pick<BundleOptions, 'workflowsPath' | 'workflowInterceptorModules' | 'preloadModules' | 'webpackConfigHook'> {
  return { workflowsPath, workflowInterceptorModules: workflowInterceptorModules(), preloadModules: PRELOADED_MODULES, webpackConfigHook };
}

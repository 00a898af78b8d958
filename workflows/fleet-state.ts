/** The shapes a fleet backup carries across continue-as-new, shared by its current and its legacy runs. */
import type { z } from 'zod';
import type { HandedOverChild } from '../domain/fleet.js';
import type { BackupFleetResult, FleetFailure } from '../domain/results.js';
import type * as schemas from '../domain/schemas.js';

/** Carried across continue-as-new. Fields after `childrenPerRun` are absent in state of runs from before terminal-2026-12. */
export interface FleetState {
  /** Index (in the whole fleet) of the next workspace to start. */
  offset: number;
  succeeded: number;
  /** A sample of the failures (domain/fleet.ts MAX_FAILURE_SAMPLE); failedCount and failedByType count them all. */
  failed: FleetFailure[];
  failedCount: number;
  failedByType?: Record<string, number>;
  cancelledCount?: number;
  runs: number;
  /** The instant whose date names every backup of this fleet run, fixed at the first run. */
  backupTime: string;
  timeZone: string;
  /** Children per run before continuing as new (default 1000): bounds every run's history and chunk. */
  childrenPerRun?: number;
  /** Index of this run's `workspaceIds[0]` in the whole fleet (absent: the input lists the whole fleet). */
  chunkStart?: number;
  /** Workspaces in the whole fleet (absent: the input lists them all). */
  total?: number;
  /** The run whose input lists every workspace (the first): where a run reads its successor's chunk. */
  source?: { workflowId: string; runId: string };
  /** Children the previous run started that were still running: waited for by id. */
  handedOver?: HandedOverChild[];
  /** A fleet by selector (enroll-2026-12): what the selector matched when the fleet started. */
  selection?: FleetSelection;
}

/** What a fleet's selector matched when its first run started (domain/enrollment.ts). */
export interface FleetSelection {
  selector: Record<string, string>;
  /** How many workspaces matched (all of them are the fleet's `total`). */
  matchedCount: number;
  /** The first matched ids (domain/fleet.ts MAX_MATCHED_LISTED), for the summary and the current details. */
  matched: string[];
  /** Candidates visibility listed whose entity said no (stale visibility), counted. */
  notConfirmed: number;
}

/** The input once validated (defaults applied). */
export type ValidFleetInput = z.output<ReturnType<typeof schemas.backupFleetInput>>;
/** The input with its workspaces known: listed by the caller, or what its selector matched. */
export type ResolvedFleetInput = Omit<ValidFleetInput, 'workspaceIds' | 'selector'> & { workspaceIds: string[] };

/** backupFleet's signature, for continueAsNew (a continued run's input always lists its workspaces). */
export type BackupFleetWorkflow = (input: ResolvedFleetInput, state?: FleetState) => Promise<BackupFleetResult>;

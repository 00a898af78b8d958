import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_RPO, parseDuration } from '../../domain/index.js';
import { RIGSNAP_METRICS } from '../../worker/metrics.js';
import {
  ALERTS_FILE,
  ALERTS_TEST_FILE,
  DASHBOARD_FILE,
  PROMETHEUS_CONFIG,
  alertRules,
  dashboardTargets,
  metricNames,
  run,
  tool,
} from '../helpers/prometheus.js';

/**
 * The shipped alerting rules and dashboard, checked with Prometheus's own promtool: the rules load,
 * their unit tests (series that cross each alert's threshold) pass, and the compose Prometheus config
 * is valid. That every metric they use is really exported is checked on a live worker in
 * test/integration/metrics.test.ts.
 */

const promtool = tool('promtool');
const withPromtool = promtool ? it : it.skip;

const ALERTS = [
  'RigsnapBackupMissedRPO',
  'RigsnapLastBackupFailed',
  'RigsnapSchedulePausedByFailure',
  'RigsnapHeldSnapshotDeleted',
  'RigsnapWorkerAbsent',
  'RigsnapRigboxRateLimited',
];

describe('deploy/prometheus/rigsnap-alerts.yml', () => {
  withPromtool('passes `promtool check rules`', () => {
    const r = run(promtool!, ['check', 'rules', ALERTS_FILE]);
    expect(r.output).toContain('SUCCESS: 8 rules found');
    expect(r.code, r.output).toBe(0);
  });

  withPromtool('passes its unit tests (`promtool test rules`)', () => {
    const r = run(promtool!, ['test', 'rules', path.basename(ALERTS_TEST_FILE)], path.dirname(ALERTS_TEST_FILE));
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  withPromtool('fails `promtool test rules` when a threshold moves (the tests can fail)', () => {
    // The same tests against rules whose RPO is a day longer: the stale workspace no longer fires.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-rules-'));
    try {
      fs.writeFileSync(path.join(dir, 'rigsnap-alerts.yml'), fs.readFileSync(ALERTS_FILE, 'utf8').replace('vector(93600)', 'vector(180000)'));
      fs.copyFileSync(ALERTS_TEST_FILE, path.join(dir, 'rigsnap-alerts.test.yml'));
      const r = run(promtool!, ['test', 'rules', 'rigsnap-alerts.test.yml'], dir);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain('RigsnapBackupMissedRPO');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has the six alerts, each exercised by the unit tests', () => {
    const alerts = alertRules().groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => r.alert!));
    expect(alerts.sort()).toEqual([...ALERTS].sort());
    const tests = parse(fs.readFileSync(ALERTS_TEST_FILE, 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const fired = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    for (const a of ALERTS) {
      expect(fired.has(a), `${a} is shown firing`).toBe(true);
      expect(quiet.has(a), `${a} is shown quiet below its threshold`).toBe(true);
    }
  });

  it('keeps the RPO in one recording rule, equal to the audit’s default', () => {
    const records = alertRules().groups.flatMap((g) => g.rules.filter((r) => r.record === 'rigsnap:backup_rpo_seconds'));
    expect(records).toHaveLength(1);
    expect(records[0]!.expr).toBe(`vector(${parseDuration(DEFAULT_RPO)! / 1000})`);
    // No other rule spells the figure out.
    const others = alertRules().groups.flatMap((g) => g.rules.filter((r) => r.record !== 'rigsnap:backup_rpo_seconds'));
    for (const r of others) expect(r.expr).not.toContain('93600');
  });

  it('uses only rigsnap series the worker declares, its own recording rules, and `up`', () => {
    const declared = new Set<string>(Object.values(RIGSNAP_METRICS));
    const records = new Set(alertRules().groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => r.record!)));
    for (const g of alertRules().groups) {
      for (const r of g.rules) {
        for (const name of metricNames(r.expr)) {
          expect(declared.has(name) || records.has(name) || name === 'up', `${r.alert ?? r.record}: ${name}`).toBe(true);
        }
      }
    }
  });
});

describe('deploy/prometheus/prometheus.yml (docker-compose monitoring profile)', () => {
  withPromtool('passes `promtool check config` (rule file path as mounted in the container)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-promcfg-'));
    try {
      const config = fs.readFileSync(PROMETHEUS_CONFIG, 'utf8');
      expect(config).toContain('/etc/prometheus/rigsnap-alerts.yml');
      fs.copyFileSync(ALERTS_FILE, path.join(dir, 'rigsnap-alerts.yml'));
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), config.replace('/etc/prometheus/rigsnap-alerts.yml', path.join(dir, 'rigsnap-alerts.yml')));
      const r = run(promtool!, ['check', 'config', path.join(dir, 'prometheus.yml')]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS: 8 rules found');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrapes the workers as job rigsnap-worker on their metrics port', () => {
    const config = parse(fs.readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'rigsnap-worker')!;
    expect(job.dns_sd_configs[0]).toMatchObject({ names: ['worker'], port: 9464 });
  });
});

describe('deploy/grafana/rigsnap.json', () => {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as {
    uid: string;
    panels: Array<{ id: number; type: string; title: string; description?: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ name: string; type: string }> };
  };

  it('has the panels the runbook describes, each with a description and a query on the chosen datasource', () => {
    const titles = dash.panels.map((p) => p.title);
    for (const t of [
      'Workspaces missing the RPO',
      'Age of the last good backup, oldest first',
      'Failed operations by error type',
      'Workspace downtime percentiles',
      'Snapshots in Rigbox',
      'Snapshot bytes',
      'Rigbox requests by status',
    ]) {
      expect(titles).toContain(t);
    }
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    expect(dash.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
    for (const p of dash.panels.filter((x) => x.type !== 'row')) {
      expect(p.description, p.title).toBeTruthy();
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('uses only rigsnap series the worker declares, the shipped recording rules, and `up`', () => {
    const declared = new Set<string>(Object.values(RIGSNAP_METRICS).flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
    const records = new Set(alertRules().groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => r.record!)));
    const targets = dashboardTargets();
    expect(targets.length).toBeGreaterThan(20);
    for (const t of targets) {
      const names = metricNames(t.expr);
      expect(names.length, `${t.panel}: ${t.expr}`).toBeGreaterThan(0);
      for (const name of names) expect(declared.has(name) || records.has(name) || name === 'up', `${t.panel}: ${name}`).toBe(true);
    }
  });
});

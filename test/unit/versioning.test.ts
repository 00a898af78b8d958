import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../worker/config.js';
import { declaredVersion, deploymentOptions, describeVersioning, resolveBuildId } from '../../worker/versioning.js';

describe('worker versioning configuration', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-build-info-'));
  const info = path.join(tmp, 'build-info.json');

  it('takes RIGSNAP_BUILD_ID first, then what the build recorded, then <version>+source', () => {
    fs.writeFileSync(info, JSON.stringify({ buildId: '0.1.0+abc123def456' }));
    expect(resolveBuildId({ RIGSNAP_BUILD_ID: 'given' }, info)).toBe('given');
    expect(resolveBuildId({ RIGSNAP_BUILD_ID: undefined }, info)).toBe('0.1.0+abc123def456');
    expect(resolveBuildId({ RIGSNAP_BUILD_ID: undefined }, path.join(tmp, 'absent.json'))).toMatch(/^\d+\.\d+\.\d+\+source$/);
  });

  it('defaults to auto on the deployment "rigsnap"; off declares nothing and sets no deployment options', () => {
    const auto = loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_BUILD_ID: 'b7' });
    expect(auto.RIGSNAP_WORKER_VERSIONING).toBe('auto');
    expect(declaredVersion(auto)).toEqual({ deploymentName: 'rigsnap', buildId: 'b7' });
    expect(deploymentOptions(declaredVersion(auto))).toEqual({
      useWorkerVersioning: true,
      version: { deploymentName: 'rigsnap', buildId: 'b7' },
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
    expect(describeVersioning(auto, declaredVersion(auto))).toBe('worker versioning auto: deployment rigsnap, build b7');
    const off = loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_WORKER_VERSIONING: 'off' });
    expect(declaredVersion(off)).toBeUndefined();
    expect(deploymentOptions(undefined)).toBeUndefined();
    expect(describeVersioning(off, undefined)).toContain('worker versioning off');
  });

  it('refuses a bad mode or build id, naming the variable', () => {
    expect(() => loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_WORKER_VERSIONING: 'yes' })).toThrow(/RIGSNAP_WORKER_VERSIONING must be auto, manual or off/);
    expect(() => loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_BUILD_ID: 'has space' })).toThrow(/RIGSNAP_BUILD_ID must be/);
    expect(() => loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_DEPLOYMENT_NAME: 'a.b' })).toThrow(/RIGSNAP_DEPLOYMENT_NAME must be/);
  });
});

/** GPUs of a flavor (src/relay/openstack/gpus.ts): PCI aliases, VGPU and CUSTOM_*GPU* placement resources. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { countGpus } from '../../../src/relay/openstack/gpus.ts';

describe('GPUs of a flavor', () => {
  it('counts every PCI alias entry, with and without a count, unless GPU aliases are named', () => {
    const specs = { 'pci_passthrough:alias': 'a100:2, t4:1,nic-sriov' };
    expect(countGpus(specs)).toBe(4);
    expect(countGpus(specs, new Set(['a100', 't4']))).toBe(3);
    expect(countGpus(specs, new Set(['a100']))).toBe(2);
    expect(countGpus(specs, new Set(['h100']))).toBe(0);
  });

  it('counts VGPU and every CUSTOM_ resource whose name holds GPU, granular groups included', () => {
    expect(countGpus({ 'resources:VGPU': '1' })).toBe(1);
    expect(countGpus({ 'resources:CUSTOM_NVIDIA_A100_GPU': '2', 'resources1:VGPU': '1', 'resources_mig:CUSTOM_MIG_1G_GPU': '3' })).toBe(6);
    // Not GPUs: another resource class, a trait, a spec that only mentions a GPU, a non-number.
    expect(
      countGpus({
        'resources:CUSTOM_FPGA': '1',
        'resources:VCPU': '8',
        'trait:CUSTOM_HAS_GPU': 'required',
        'hw:gpu_model': 'a100',
        'resources:VGPU': 'two',
      }),
    ).toBe(0);
  });

  it('ignores aliases filter for placement resources, and sums all three kinds', () => {
    expect(countGpus({ 'pci_passthrough:alias': 'a100:1', 'resources:VGPU': '2', 'resources:CUSTOM_GPU_T4': '1' }, new Set(['t4']))).toBe(3);
  });

  it('the Nova reference flavors (2.61) have no GPUs', () => {
    const { flavors } = JSON.parse(
      readFileSync(new URL('../../fixtures/openstack/nova/flavors_v2.61_flavors-detail-resp.json', import.meta.url), 'utf8'),
    ) as {
      flavors: { extra_specs: Record<string, string> }[];
    };
    expect(flavors.length).toBeGreaterThan(5);
    for (const f of flavors) expect(countGpus(f.extra_specs)).toBe(0);
    expect(countGpus(undefined)).toBe(0);
  });
});

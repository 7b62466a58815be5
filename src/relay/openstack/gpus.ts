/**
 * The GPUs a flavor asks for, from its extra specs (docs/architecture.md §5, docs/openstack.md). Pure.
 *
 * - `pci_passthrough:alias` = `"a100:2,t4:1"` → 3 (a name without `:count` is one device); only the
 *   aliases named in RELAY_OPENSTACK_GPU_ALIASES when that is set (else every alias counts);
 * - `resources:VGPU` = N → N;
 * - every `resources:CUSTOM_*` key whose name contains `GPU` (e.g. `resources:CUSTOM_NVIDIA_A100_GPU`) → N.
 * Placement's granular groups are the same request split up: `resources1:VGPU`, `resources_gpu:CUSTOM_…GPU…`
 * count like their ungrouped spelling. Values that are not whole numbers count nothing.
 */
const RESOURCE_KEY = /^resources[A-Za-z0-9_-]*:(VGPU|CUSTOM_[A-Z0-9_]*GPU[A-Z0-9_]*)$/;

const count = (text: string): number => (/^\s*\d+\s*$/.test(text) ? Number(text) : 0);

export function countGpus(extraSpecs: Readonly<Record<string, unknown>> | null | undefined, gpuAliases?: ReadonlySet<string>): number {
  if (!extraSpecs) return 0;
  let gpus = 0;
  for (const [key, raw] of Object.entries(extraSpecs)) {
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : '';
    if (key === 'pci_passthrough:alias') {
      for (const entry of value.split(',')) {
        const [name = '', n] = entry.split(':').map((p) => p.trim());
        if (!name || (gpuAliases && !gpuAliases.has(name))) continue;
        gpus += n === undefined ? 1 : count(n);
      }
    } else if (RESOURCE_KEY.test(key)) {
      gpus += count(value);
    }
  }
  return gpus;
}

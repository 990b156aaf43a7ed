#!/usr/bin/env python3
"""Deterministic FEMAG-like workloads for the benchmark.

Each job folder holds a femag.fsl (a few KB of Lua-ish FEMAG script), a binary model.nc that
gzip -6 shrinks to about half, and 2-3 magnetizing curves (*.mcv). Folders are named job000,
job001, ... so that ordinal order is the job index on both sides of the benchmark.

  python3 bench/generate.py [--seed N] [--quick] [--out DIR | --cache-root DIR] [--check] W1 W2 W3-20 W3-100

With --out the workloads are written below DIR; otherwise they are cached below
/tmp/femag-bench-cache/ under a key of (generator version, seed, sizes), so reruns reuse them.
"""
from __future__ import annotations

import argparse
import array
import hashlib
import json
import math
import os
import random
import shutil
import sys
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

# Bump when the output changes, so stale caches are not reused.
GENERATOR_VERSION = 1
DEFAULT_CACHE_ROOT = Path("/tmp/femag-bench-cache")
MB = 1_000_000

# The model file interleaves blocks of random bytes (incompressible) with blocks of quantized mesh
# coordinates (float64; a 50 KiB slice keeps ~36 % under gzip -6). 14 KiB : 50 KiB gives 0.22 + 0.78 * 0.36 = 0.50.
RANDOM_PART = 14 * 1024
STRUCTURED_PART = 50 * 1024


@dataclass(frozen=True)
class Spec:
    name: str
    folders: int
    model_bytes: int  # per folder, before the +-5 % jitter


WORKLOADS = {
    "W1": Spec("W1", 100, 2 * MB),
    "W2": Spec("W2", 4, 300 * MB),
    "W3-20": Spec("W3-20", 20, 2_000),
    "W3-100": Spec("W3-100", 100, 2_000),
    "W5": Spec("W5", 50, 2_000),
    "W6": Spec("W6", 100, 2_000),
}

# Same shapes, small enough for a smoke test.
QUICK_WORKLOADS = {
    "W1": Spec("W1", 10, 2 * MB),
    "W2": Spec("W2", 2, 20 * MB),
    "W3-20": Spec("W3-20", 3, 2_000),
    "W3-100": Spec("W3-100", 6, 2_000),
    "W5": Spec("W5", 10, 2_000),
    "W6": Spec("W6", 10, 2_000),
}


class Pools:
    """
    Byte pools that model files are cut from. Python makes pseudo-random bytes at well under 100 MB/s, so
    1.2 GB is assembled from slices at seeded offsets instead: gzip's window is 32 KiB, so a slice of a
    16 MiB pool repeated megabytes later compresses no better than fresh random data.
    """

    def __init__(self, seed: int):
        rng = random.Random(f"pools-{seed}")
        self.random = rng.randbytes(16 * 1024 * 1024)
        self.structured = _mesh_coordinates()

    def random_bytes(self, rng: random.Random, size: int) -> bytes:
        """size bytes that compress like random data, built from pool slices of up to 1 MiB."""
        parts, left = [], size
        while left > 0:
            n = min(left, 1024 * 1024)
            start = rng.randrange(len(self.random) - n + 1)
            parts.append(self.random[start:start + n])
            left -= n
        return b"".join(parts)

    def model_chunk(self, rng: random.Random, size: int) -> bytes:
        """size bytes alternating random and structured blocks."""
        parts, left = [], size
        while left > 0:
            r = self.random_bytes(rng, min(left, RANDOM_PART))
            left -= len(r)
            n = min(left, STRUCTURED_PART)
            start = rng.randrange((len(self.structured) - n) // 8 + 1) * 8  # float-aligned
            parts += [r, self.structured[start:start + n]]
            left -= n
        return b"".join(parts)


def _mesh_coordinates() -> bytes:
    """2 MiB of node coordinates of a stator-like annulus mesh, rounded as a mesh generator would."""
    values = array.array("d")
    rings, segments = 64, 2048
    for i in range(rings):
        radius = 40.0 + i * 0.25
        for j in range(segments):
            phi = 2 * math.pi * j / segments
            values.append(round(radius * math.cos(phi), 4))
            values.append(round(radius * math.sin(phi), 4))
    return values.tobytes()


FSL_TEMPLATE = """\
-- FEMAG model {name}: permanent magnet synchronous machine, parameter variation job {index}
exit_on_error = false
exit_on_end = true
verbosity = 2

new_model_force("{name}", "Parameter variation {index}")
global_unit('mm')
pickdist(0.001)
cosys('polar')

m.xmag = {{}}
m.ymag = {{}}
m.num_poles = {poles}
m.num_slots = {slots}
m.npols_gen = {poles_gen}
m.arm_length = {arm_length:.2f}
m.fc_radius = {fc_radius:.3f}
m.outer_diam = {outer_diam:.2f}
m.inner_diam = {inner_diam:.2f}
m.airgap = {airgap:.3f}
m.slot_height = {slot_height:.3f}
m.tooth_width = {tooth_width:.3f}
m.slot_opening = {slot_opening:.3f}
m.magn_height = {magn_height:.3f}
m.magn_width_pct = {magn_width:.3f}
m.current = {current:.2f}
m.speed = {speed:.1f}
m.num_wires = {wires}
m.mcvkey_yoke = "{mcv_yoke}"
m.mcvkey_teeth = "{mcv_teeth}"

pre_models("Stator")
pre_models("Magnet Sector")
pre_models("Gen_winding")

{sweep}
pre_models("FE-Losses-1")
pre_models("Move-Rotor")
pre_models("PM-IBC-Calculation")
"""

SWEEP_LINE = (
    "m.beta_{k} = {beta:.3f}; m.i1_{k} = {i1:.3f}  -- operating point {k}\n"
    "save_point({k}, m.beta_{k}, m.i1_{k}, {torque:.4f}, {loss:.4f})\n"
)


def fsl_text(rng: random.Random, name: str, index: int, mcv_names: list[str], points: int) -> str:
    poles = rng.choice([4, 6, 8, 10, 12])
    outer = rng.uniform(120, 260)
    sweep = "".join(
        SWEEP_LINE.format(k=k, beta=rng.uniform(-90, 0), i1=rng.uniform(10, 300), torque=rng.uniform(0, 500), loss=rng.uniform(0, 2000))
        for k in range(points)
    )
    return FSL_TEMPLATE.format(
        name=name, index=index, poles=poles, slots=poles * rng.choice([3, 6, 9]) // 2, poles_gen=2,
        arm_length=rng.uniform(50, 250), fc_radius=outer * 0.35, outer_diam=outer, inner_diam=outer * 0.65,
        airgap=rng.uniform(0.5, 1.5), slot_height=rng.uniform(10, 30), tooth_width=rng.uniform(3, 12),
        slot_opening=rng.uniform(1, 4), magn_height=rng.uniform(2, 8), magn_width=rng.uniform(0.7, 0.95),
        current=rng.uniform(10, 300), speed=rng.uniform(500, 15000), wires=rng.randint(5, 40),
        mcv_yoke=mcv_names[0][:-4], mcv_teeth=mcv_names[-1][:-4], sweep=sweep,
    )


def mcv_text(rng: random.Random, name: str) -> str:
    """A B(H) magnetizing curve: a saturating curve with a little measurement noise."""
    bs, mu = rng.uniform(1.6, 2.1), rng.uniform(2000, 8000)
    lines = [f"{name}", "1 curve, H [A/m] B [T]", f"fillfac 1.0  density {rng.uniform(7.5, 7.9):.3f}"]
    for k in range(1, 161):
        h = 10 * 1.06 ** k
        b = bs * math.tanh(mu * 4e-7 * math.pi * h / bs) + 4e-7 * math.pi * h
        lines.append(f"{h:14.4f} {b * (1 + rng.uniform(-1e-4, 1e-4)):10.6f}")
    return "\n".join(lines) + "\n"


def write_folder(pools: Pools, rng: random.Random, folder: Path, index: int, model_bytes: int) -> None:
    folder.mkdir(parents=True)
    mcv_names = [f"M{rng.randint(250, 800)}-{rng.choice([35, 50, 65])}A-{k}.mcv" for k in range(rng.randint(2, 3))]
    for name in mcv_names:
        (folder / name).write_text(mcv_text(rng, name[:-4]))
    # 20-60 operating points: 2-6 KB of script.
    (folder / "femag.fsl").write_text(fsl_text(rng, folder.name, index, mcv_names, rng.randint(20, 60)))
    size = int(model_bytes * rng.uniform(0.95, 1.05))
    with open(folder / "model.nc", "wb") as f:
        f.write(b"CDF\x01")  # netCDF classic magic, as FEMAG's model files start
        left = size - 4
        while left > 0:
            chunk = pools.model_chunk(rng, min(left, 8 * 1024 * 1024))
            f.write(chunk)
            left -= len(chunk)


def write_workload(spec: Spec, seed: int, out: Path) -> None:
    """Writes spec.folders job folders into out (which must not exist yet)."""
    pools = Pools(seed)
    out.mkdir(parents=True)
    for index in range(spec.folders):
        # One generator per folder: folder i is the same whatever the folder count.
        rng = random.Random(f"{seed}-{spec.name}-{index}")
        write_folder(pools, rng, out / f"job{index:03d}", index, spec.model_bytes)


def cached_workload(spec: Spec, seed: int, cache_root: Path = DEFAULT_CACHE_ROOT) -> Path:
    """The workload's folder in the cache, generated first when missing."""
    key = hashlib.sha256(json.dumps([GENERATOR_VERSION, seed, asdict(spec)]).encode()).hexdigest()[:12]
    final = cache_root / f"{spec.name}-{key}"
    if (final / ".complete").exists():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    # Built under a private name and renamed: an interrupted run never leaves a cache that looks complete.
    partial = cache_root / f".partial-{spec.name}-{key}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        write_workload(spec, seed, partial)
        (partial / ".complete").write_text("")
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def job_folders(workload: Path) -> list[Path]:
    return sorted(p for p in workload.iterdir() if p.is_dir())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def gzip_ratio(path: Path, sample: int = 8 * 1024 * 1024) -> float:
    """gzip -6 ratio of a file's first `sample` bytes (zlib level 6 is gzip -6's deflate)."""
    with open(path, "rb") as f:
        data = f.read(sample)
    return len(zlib.compress(data, 6)) / len(data)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workloads", nargs="+", choices=sorted(WORKLOADS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="write below this directory instead of the cache")
    where.add_argument("--cache-root", type=Path, default=DEFAULT_CACHE_ROOT)
    p.add_argument("--check", action="store_true", help="print the gzip -6 ratio of each workload's first model.nc")
    a = p.parse_args()
    specs = QUICK_WORKLOADS if a.quick else WORKLOADS
    for name in a.workloads:
        spec = specs[name]
        if a.out:
            path = a.out / name
            write_workload(spec, a.seed, path)
        else:
            path = cached_workload(spec, a.seed, a.cache_root)
        line = f"{name}\t{path}"
        if a.check:
            line += f"\tgzip -6 ratio {gzip_ratio(job_folders(path)[0] / 'model.nc'):.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""benchmarks/gpu_check.py in its tiny CPU mode (the CI run of the GPU check): every part runs
and the report holds what the GPU run will be read for (measured: 106 s wall, 18 s CPU on the
loaded 2-core machine; the jets of ``--prepare --tiny`` are the quick preset's)."""

import json

from benchmarks import gpu_check

VARIANTS = {"GSEAL, fraction 1", "GSEAL, fraction 0.25", "δSEAL exact, scalar output",
            "δSEAL exact, fraction 0.25", "δSEAL fd"}


def test_tiny_gpu_check_on_cpu_writes_a_complete_report(tmp_path):
    if not (gpu_check.JETS / gpu_check.TRAINING["tiny"]["jets"]).is_file():
        gpu_check.prepare(tiny=True, workers=1)
    report = gpu_check.main(["--tiny", "--device", "cpu", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["ok"] and report["ok"]
    # on the CPU the device-against-CPU comparisons of tests/test_device.py skip (they would
    # compare the CPU with itself); its tests against independent references still run
    counts = saved["tests"]["counts"]
    assert counts.get("passed", 0) >= 9 and "failed" not in counts and "error" not in counts
    for precision in ("float32", "bf16_autocast"):
        ratios = saved["timing"][precision]["ratio"]
        assert set(ratios) == VARIANTS and all(r > 0 for r in ratios.values())
    assert set(saved["training"]["auc"]) == {"baseline", "gseal", "dseal"}
    assert "--data generated:" in saved["training"]["command"]
    md = (tmp_path / "report.md").read_text()
    assert "Library on the device: passed" in md and "| δSEAL fd |" in md and "| dseal |" in md

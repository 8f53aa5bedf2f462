import json

import pytest

from llmft.evaluation.metrics import Estimate, paired_bootstrap
from llmft.report import results


def _payload(run):
    systems = {"zero_shot": {"rougeL": Estimate(0.1, 0.05, 0.15)}, "lora": {"rougeL": Estimate(0.4, 0.35, 0.45)}}
    comparisons = {"lora_vs_zero_shot": {"rougeL": paired_bootstrap([0.1, 0.2, 0.1], [0.4, 0.5, 0.3])}}
    return results.build(run, systems, comparisons, parameters={"lora_trainable": 10})


def test_round_trip_has_the_shared_shape(tiny_run):
    path = results.write(tiny_run.results_path, _payload(tiny_run))
    assert path.name == "smoke.json" and path.parent.name == "dialogsum-flan-t5"
    loaded = results.load(path)
    assert loaded["systems"]["lora"]["rougeL"] == {"mean": 0.4, "ci_low": 0.35, "ci_high": 0.45}
    assert loaded["complete"] is True and "transformers" in loaded["versions"]


def test_bad_payloads_are_refused(tiny_run):
    good = _payload(tiny_run)
    for mutate in (lambda p: p.update(complete=False), lambda p: p["systems"].update(best={}),
                   lambda p: p["systems"]["lora"]["rougeL"].update(mean=0.9)):
        bad = json.loads(json.dumps(good))
        mutate(bad)
        with pytest.raises(ValueError):
            results.validate(bad)


def test_a_failed_write_leaves_no_file(tiny_run):
    bad = _payload(tiny_run)
    bad["complete"] = False
    with pytest.raises(ValueError):
        results.write(tiny_run.results_path, bad)
    assert not tiny_run.results_path.exists()
    assert not list(tiny_run.results_dir.rglob("*.tmp*"))


def test_a_measure_that_does_not_apply_is_written_as_null(tiny_run, tmp_path):
    import math

    path = results.write(tmp_path / "r.json", {**_payload(tiny_run), "failures": {"copy": {"never stops": math.nan}}})
    assert json.loads(path.read_text(), parse_constant=lambda c: 1 / 0)["failures"]["copy"]["never stops"] is None

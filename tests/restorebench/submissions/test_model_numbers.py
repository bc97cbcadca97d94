"""What a model run's efficiency record puts on the submission: FLOPs only when the count is complete
(an operator it could not count is listed in the record, never a silently smaller number)."""

from restorebench.submissions.job_results import model_numbers

COUNTS = {"flops": 1000, "macs": 1000, "activations": 40, "uncounted_ops": {}, "input": [1, 3, 8, 8]}


def test_a_complete_count_gives_flops_activations_and_the_record():
    run = {"seconds_per_image": 0.5, "seconds_per_image_median": 0.25, "profile": {"counts": COUNTS}}
    numbers = model_numbers(run)
    assert (numbers["model_flops"], numbers["model_activations"]) == (1000, 40)
    assert (numbers["model_seconds_per_image"], numbers["model_seconds_per_image_median"]) == (0.5, 0.25)
    assert numbers["model_profile"] == {"counts": COUNTS}


def test_an_operator_it_could_not_count_leaves_flops_empty_and_stays_listed():
    run = {"profile": {"counts": {**COUNTS, "uncounted_ops": {"Hardmax": 1}}}}
    numbers = model_numbers(run)
    assert numbers["model_flops"] is None and numbers["model_activations"] == 40
    assert numbers["model_profile"]["counts"]["uncounted_ops"] == {"Hardmax": 1}


def test_a_failed_count_gives_neither_and_keeps_the_error():
    numbers = model_numbers({"profile": {"counts": {"input": [1, 3, 8, 8], "error": "ValueError: x"}}})
    assert (numbers["model_flops"], numbers["model_activations"]) == (None, None)
    assert numbers["model_profile"]["counts"]["error"] == "ValueError: x"
    assert model_numbers({})["model_profile"] is None  # a run from before the count existed

"""Locust users for bench/bench_load.py (not run on its own: the benchmark passes the seeded site in
RESTOREBENCH_LOAD_PLAN, a JSON file, and reads back RESTOREBENCH_LOAD_RESULT).

Browsers read the challenge list, a challenge, the 500-entry leaderboard (page and API), their own
submission list and one of their submissions. Submitters (10% of the users, `fixed_count`) do the same
and also post small result sets (a zip of a few PNGs, different each time) to the submission API.

The users are `FastHttpUser`s (geventhttpclient): the load generator runs on the same 2 cores as the
site, and costs several times less CPU per request than with `HttpUser` (python-requests).
"""

import io
import itertools
import json
import os
import random
import zipfile

import numpy as np
from locust import FastHttpUser, between, events, task
from PIL import Image
from urllib3 import encode_multipart_formdata

PLAN = json.loads(open(os.environ["RESTOREBENCH_LOAD_PLAN"]).read())
_credentials = itertools.cycle(PLAN["users"])
_submitted: list[int] = []
_refused: list[str] = []


def _result_zip(rng: np.random.Generator) -> bytes:
    """The phase's images, each ground truth plus fresh noise (never byte-identical to an earlier one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, (h, w) in PLAN["images"].items():
            array = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            out = io.BytesIO()
            Image.fromarray(array).save(out, format="PNG", compress_level=1)
            archive.writestr(name, out.getvalue())
    return buffer.getvalue()


class Browser(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.me = next(_credentials)
        self.signed_in = {"Cookie": f"sessionid={self.me['session']}"}

    @task(3)
    def challenges(self) -> None:
        self.client.get("/", name="home (challenge list)", headers=self.signed_in)
        self.client.get("/api/challenges/", name="api challenge list", headers=self.signed_in)

    @task(2)
    def challenge(self) -> None:
        self.client.get(f"/challenges/{PLAN['slug']}/", name="challenge page", headers=self.signed_in)

    @task(4)
    def leaderboard(self) -> None:
        page, api = f"/phases/{PLAN['phase_id']}/leaderboard/", f"/api/phases/{PLAN['phase_id']}/leaderboard/"
        self.client.get(page, name="leaderboard page (500)", headers=self.signed_in)
        self.client.get(api, name="leaderboard api (500)", headers=self.signed_in)

    @task(2)
    def submissions(self) -> None:
        self._signed_in_get("/submissions/", "my submissions page")
        self._signed_in_get(f"/submissions/{self.me['submission_id']}/", "submission page")

    def _signed_in_get(self, path: str, name: str) -> None:
        # A lost session would redirect to the login page: count that as the failure it is.
        with self.client.get(
            path, name=name, headers=self.signed_in, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} (a redirect to the login page: session lost)")


class Submitter(Browser):
    fixed_count = PLAN["submitters"]

    def on_start(self) -> None:
        super().on_start()
        self.rng = np.random.default_rng(random.SystemRandom().randrange(2**32))

    @task(2)
    def submit(self) -> None:
        body, content_type = encode_multipart_formdata(
            {"file": ("result.zip", _result_zip(self.rng), "application/zip"), "method_name": "load"}
        )
        with self.client.post(
            f"/api/phases/{PLAN['phase_id']}/submissions/create/",
            data=body,
            headers={"Authorization": f"Token {self.me['token']}", "Content-Type": content_type},
            name="submit (api)",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                _submitted.append(response.json()["id"])
                response.success()
            else:
                _refused.append(f"{response.status_code} {response.text[:200]}")
                response.failure(f"submission refused: {response.status_code}")


@events.test_stop.add_listener
def _write_result(**_kwargs) -> None:
    with open(os.environ["RESTOREBENCH_LOAD_RESULT"], "w") as handle:
        json.dump({"submitted": _submitted, "refused": _refused}, handle)

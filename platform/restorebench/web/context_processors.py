"""What every page's template may show: the demo's baseline progress banner (only while `manage.py
demo` fills its leaderboards in the background)."""

from django.http import HttpRequest

from restorebench.web import demo


def demo_baselines(request: HttpRequest) -> dict:
    return {"demo_baselines": demo.baseline_progress()}

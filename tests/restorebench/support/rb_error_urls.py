"""The site's URLs plus one view that fails, to see the 500 page a visitor gets."""

from django.urls import include, path


def _fail(request):
    raise RuntimeError("secret internal detail /srv/restorebench/var/hidden")


urlpatterns = [path("test-fail/", _fail), path("", include("restorebench.urls"))]

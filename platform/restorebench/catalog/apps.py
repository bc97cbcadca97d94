from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "restorebench.catalog"
    label = "catalog"
    verbose_name = "Datasets and degradations"

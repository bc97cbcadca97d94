"""OpenAPI schema generation: names the per-view nested serializers (`InputSerializer`,
`OutputSerializer`, the HackSoft style) after their view, so components stay distinct."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        parts = cls.__qualname__.split(".")
        if len(parts) > 1:  # nested in a view class: "Input" -> "SignupInput"
            short = cls.__name__.removesuffix("Serializer")
            name = name.replace(short, parts[-2].removesuffix("Api") + short, 1)
        return name

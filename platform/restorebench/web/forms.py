"""The pages' forms: they only shape input; the services decide what is valid and say why."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False, help_text="Optional.")
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters.")
    password_again = forms.CharField(widget=forms.PasswordInput, label="Password (again)")

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "the two passwords differ")
        return data


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")


class TeamJoinForm(forms.Form):
    join_code = forms.CharField(
        max_length=64, label="Join code", help_text="Ask a member of the team for it."
    )


class SubmissionForm(forms.Form):
    """The plain (no JavaScript) upload; with JavaScript the page sends the same file in resumable
    chunks through the API instead."""

    file = forms.FileField(label="Zip of restored images")
    method_name = forms.CharField(max_length=200, required=False, label="Method name")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    runtime = forms.FloatField(
        required=False,
        min_value=0,
        label="Runtime per image (seconds, optional)",
        help_text="Your method's time per image on your machine; the leaderboard shows it as reported.",
    )


class ModelSubmissionForm(forms.Form):
    """A model instead of images: the file and its manifest, sent as one plain form post (the page
    adds a hidden `kind=model` so the view knows which of its two forms was sent)."""

    model_file = forms.FileField(
        label="Model file",
        help_text="ONNX (.onnx), or safetensors weights of a registered reference architecture.",
    )
    manifest = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        label="Manifest (JSON)",
        initial='{"task": "denoise", "color": "rgb", "input_range": [0, 1], "output_range": [0, 1]}',
        help_text="What the model restores and how to feed it; see the model submission guide.",
    )
    method_name = forms.CharField(max_length=200, required=False, label="Method name")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names when the form has one,
    otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = name if name in form.fields else None
            for message in messages:
                plain = target is not None or name == NON_FIELD_ERRORS
                form.add_error(target, message if plain else f"{name}: {message}")
    else:
        for message in error.messages:
            form.add_error(None, message)
